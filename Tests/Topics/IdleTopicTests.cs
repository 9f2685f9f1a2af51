using System.Net;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Topics;

/// <summary>A forwarding silo whose topics let go of their files after 2 s without an append.</summary>
public sealed class QuicklyIdleKafkaSilo : KafkaSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [new("Ingest:IdleTopicAfter", "00:00:02")];
}

public sealed class IdleTopicTests(QuicklyIdleKafkaSilo silo) : IClassFixture<QuicklyIdleKafkaSilo>
{
    [Fact]
    public async Task an_idle_topic_seals_its_segment_ships_it_and_holds_no_file_open_and_the_next_append_opens_a_new_segment()
    {
        const string topic = "idle-then-busy";
        silo.Kafka.CreateTopic(topic, partitions: 2);
        var ledger = new Ledger();
        Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, "first", null, 0));
        var directory = Path.Combine(silo.DataDirectory, "segments", topic);
        Assert.NotEmpty(OpenFilesUnder(directory)); // the topic grain writes its active segment

        await Poll.Until(() => StoredRecords.ArchivedSegments(silo.DataDirectory, topic).Length == 1, TimeSpan.FromSeconds(30),
            "the idle topic's segment to be sealed, shipped and archived");
        await Poll.Until(() => OpenFilesUnder(directory).Count == 0, TimeSpan.FromSeconds(30),
            "no file of the idle topic to be open (neither the grain's segment nor the forwarder's read handle)");
        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, "second", null, 1));
        Assert.Single(Directory.GetFiles(directory, "*.active"));
        Assert.Equal("000000000002.active", Path.GetFileName(Directory.GetFiles(directory, "*.active").Single()));
        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(30));
    }

    /// <summary>This process's open descriptors that point below <paramref name="directory"/>.</summary>
    private static List<string> OpenFilesUnder(string directory)
    {
        var open = new List<string>();
        foreach (var descriptor in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(descriptor).LinkTarget is { } target && target.StartsWith(directory + "/", StringComparison.Ordinal))
                {
                    open.Add(target);
                }
            }
            catch (IOException)
            {
                // closed while listing
            }
        }

        return open;
    }
}
