using System.Net;
using System.Text.Json.Nodes;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Configuration;

/// <summary>A silo seeded in allow-list mode with two listed topics, one with a 100-byte record limit.</summary>
public sealed class AllowListSilo : ConfigSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Ingest:TopicMode", "allowList"),
        new("Ingest:Topics:listed:Shards", "1"),
        new("Ingest:Topics:tiny:MaxRecordBytes", "100"),
    ];
}

public sealed class TopicSettingsTests(AllowListSilo silo) : IClassFixture<AllowListSilo>
{
    // Propagation speed is ConfigPropagationTests' subject; here a generous deadline keeps the tests steady on a busy host.
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task in_allow_list_mode_a_listed_topic_gets_202_and_any_other_403_while_its_neighbour_keeps_writing()
    {
        var unlisted = Producer.PostAsync(silo.Http, "not-listed", null);
        var listed = Producer.PostAsync(silo.Http, "listed", null);

        Assert.Equal(HttpStatusCode.Forbidden, await unlisted);
        Assert.Equal(HttpStatusCode.Accepted, await listed);
        Assert.False(Directory.Exists(Path.Combine(silo.DataDirectory, "segments", "not-listed")), "a refused topic leaves nothing on disk");
        Assert.NotEmpty(silo.Records("listed"));
    }

    [Fact]
    public async Task a_topics_max_record_bytes_applies_to_it_alone()
    {
        var big = new string('x', 150);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await Producer.PostAsync(silo.Http, "tiny", null, $$"""{"v":"{{big}}"}"""));
        Assert.Equal(HttpStatusCode.Accepted, await Producer.PostAsync(silo.Http, "tiny", null, """{"v":"small"}"""));
        Assert.Equal(HttpStatusCode.Accepted, await Producer.PostAsync(silo.Http, "listed", null, $$"""{"v":"{{big}}"}"""));
    }

    [Fact]
    public async Task listing_a_topic_or_opening_the_mode_at_runtime_admits_it_without_a_restart()
    {
        Assert.Equal(HttpStatusCode.Forbidden, await Producer.PostAsync(silo.Http, "later", null));

        await silo.Admin.ApplyAsync(config => config["topics"]!["later"] = new JsonObject());
        await Poll.Until(async () => await Producer.PostAsync(silo.Http, "later", null) == HttpStatusCode.Accepted, Propagation, "a newly listed topic to be accepted");
        Assert.Equal(HttpStatusCode.Forbidden, await Producer.PostAsync(silo.Http, "still-not", null));
    }

    [Fact]
    public async Task a_topics_segment_size_override_rotates_that_topic_only()
    {
        await silo.Admin.ApplyAsync(config =>
        {
            config["topics"]!["small-segments"] = new JsonObject { ["maxSegmentBytes"] = 4096 };
            config["topics"]!["default-segments"] = new JsonObject();
        });
        await Poll.Until(async () => await Producer.PostAsync(silo.Http, "small-segments", null) == HttpStatusCode.Accepted, Propagation, "the listed topic to be accepted");

        var value = $$"""{"pad":"{{new string('p', 500)}}"}""";
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await Producer.PostAsync(silo.Http, "small-segments", null, value));
            Assert.Equal(HttpStatusCode.Accepted, await Producer.PostAsync(silo.Http, "default-segments", null, value));
        }

        Assert.True(SegmentFiles("small-segments") >= 4, $"20 KiB in 4 KiB segments makes at least 4 segments, found {SegmentFiles("small-segments")}");
        Assert.Equal(1, SegmentFiles("default-segments"));
        Assert.Equal(41, silo.Records("small-segments").Count);
    }

    [Fact]
    public async Task raising_a_topics_shards_at_runtime_spreads_new_records_over_the_new_shards()
    {
        await silo.Admin.ApplyAsync(config => config["topics"]!["resharded"] = new JsonObject { ["shards"] = 3 });
        await Poll.Until(async () => await Producer.PostAsync(silo.Http, "resharded", null) == HttpStatusCode.Accepted, Propagation, "the listed topic to be accepted");

        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await Producer.PostAsync(silo.Http, "resharded", null));
        }

        var shards = Directory.GetDirectories(Path.Combine(silo.DataDirectory, "segments"), "resharded*").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["resharded", "resharded#1", "resharded#2"], shards);
    }

    private int SegmentFiles(string topic) =>
        Directory.GetFiles(Path.Combine(silo.DataDirectory, "segments", topic)).Count(f => f.EndsWith(".seg", StringComparison.Ordinal) || f.EndsWith(".active", StringComparison.Ordinal));
}
