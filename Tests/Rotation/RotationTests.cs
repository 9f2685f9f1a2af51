using System.Net;
using System.Text;
using Ingest.Segments;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Rotation;

public sealed class RotationTests : IAsyncLifetime
{
    private readonly ClockedSilo _silo = new();

    public ValueTask InitializeAsync() => _silo.InitializeAsync();

    public ValueTask DisposeAsync() => _silo.DisposeAsync();

    [Fact]
    public async Task the_reminder_seals_an_idle_topics_segment_once_it_is_older_than_RotateAfter()
    {
        _silo.Clock.Advance(TimeSpan.FromMinutes(11)); // 00:10, well clear of a day boundary
        await Post("idle", """{"n":1}""");
        var directory = _silo.SegmentsOf("idle");
        Assert.Equal(["000000000001.active"], Names(directory));

        // Half an hour: not due yet, whatever the reminder does meanwhile.
        _silo.Clock.Advance(TimeSpan.FromMinutes(30));
        await WaitForReminderTicks("idle");
        Assert.Equal(["000000000001.active"], Names(directory));

        // Past RotateAfter. The grain timer is due an hour of real time from now, so only the reminder
        // (ticking every real second, reading the fake clock) can seal it.
        _silo.Clock.Advance(TimeSpan.FromMinutes(30));
        await Poll.Until(() => Names(directory).SequenceEqual(["000000000001.seg"]), TimeSpan.FromSeconds(20),
            "the rotation reminder to seal the idle topic's segment (000000000001.active → .seg)");
        Assert.Equal(["""{"n":1}"""], _silo.Records("idle").Select(r => r.ValueText));

        // The next append opens a new segment.
        await Post("idle", """{"n":2}""");
        Assert.Equal(["000000000001.seg", "000000000002.active"], Names(directory));
    }

    [Fact]
    public async Task an_append_after_midnight_goes_to_a_new_segment_dated_by_the_new_day()
    {
        await Post("daily", """{"day":20}""");
        _silo.Clock.Advance(TimeSpan.FromSeconds(61)); // 2026-11-21 00:00:01
        await Post("daily", """{"day":21}""");

        var directory = _silo.SegmentsOf("daily");
        Assert.Equal(["000000000001.seg", "000000000002.active"], Names(directory));
        Assert.Equal(new DateTime(2026, 11, 20), CreatedDay(Path.Combine(directory, "000000000001.seg")));
        Assert.Equal(new DateTime(2026, 11, 21), CreatedDay(Path.Combine(directory, "000000000002.active")));
        Assert.Equal(["""{"day":20}""", """{"day":21}"""], _silo.Records("daily").Select(r => r.ValueText));
    }

    [Fact]
    public async Task an_idle_segment_is_sealed_when_the_utc_day_changes_not_an_hour_later()
    {
        await Post("midnight", """{"n":1}""");
        var directory = _silo.SegmentsOf("midnight");

        _silo.Clock.Advance(TimeSpan.FromSeconds(59)); // 23:59:59, still day 20
        await WaitForReminderTicks("midnight");
        Assert.Equal(["000000000001.active"], Names(directory));

        _silo.Clock.Advance(TimeSpan.FromSeconds(2)); // 00:00:01: one minute old, but a new day
        await Poll.Until(() => Names(directory).SequenceEqual(["000000000001.seg"]), TimeSpan.FromSeconds(20),
            "the segment of 2026-11-20 to be sealed after midnight");
    }

    [Fact]
    public async Task a_size_limit_seals_inline_and_every_record_is_in_exactly_one_segment()
    {
        await using var small = new SmallSegmentSilo();
        await small.InitializeAsync();
        var values = Enumerable.Range(0, 200).Select(i => $$"""{"i":{{i}},"pad":"{{new string('x', 100)}}"}""").ToList();
        foreach (var value in values)
        {
            var response = await small.Http.PostAsync("/v1/topics/sized", new StringContent(value, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var segments = StoredRecords.SegmentsOf(small.SegmentsOf("sized"));
        Assert.True(segments.Length >= 6, $"200 records of ~150 bytes in 4 KiB segments should make at least 6 segments, found {segments.Length}");
        Assert.All(segments[..^1], path => Assert.EndsWith(".seg", path));
        Assert.All(segments[..^1], path => Assert.InRange(new FileInfo(path).Length, 4096, 4096 + 512));
        Assert.Equal(values, small.Records("sized").Select(r => r.ValueText));
    }

    private sealed class SmallSegmentSilo : ClockedSilo
    {
        protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [new("Ingest:MaxSegmentBytes", "4096")];
    }

    private async Task Post(string topic, string value)
    {
        var response = await _silo.Http.PostAsync($"/v1/topics/{topic}", new StringContent(value, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    /// <summary>Waits until the topic's rotation reminder has ticked twice more (each tick checks the segment).</summary>
    private static async Task WaitForReminderTicks(string topic)
    {
        using var ticks = new TopicCounter("ingest.rotation.reminder_ticks", topic);
        await Poll.Until(() => ticks.Total >= 2, TimeSpan.FromSeconds(20), $"two rotation reminder ticks of topic {topic}");
    }

    private static string[] Names(string directory) =>
        StoredRecords.SegmentsOf(directory).Select(Path.GetFileName).ToArray()!;

    private static DateTime CreatedDay(string path) =>
        DateTimeOffset.FromUnixTimeMilliseconds(SegmentFile.ReadCreatedMs(path)!.Value).UtcDateTime.Date;
}
