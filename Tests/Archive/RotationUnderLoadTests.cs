using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ingest.Hosting;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Archive;

/// <summary>Segments rotate every 8 KiB: under load that is a rotation every few hundred milliseconds.</summary>
public sealed class FastRotatingKafkaSilo : KafkaSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [new("Ingest:MaxSegmentBytes", "8192")];
}

public sealed class RotationUnderLoadTests(FastRotatingKafkaSilo silo) : IClassFixture<FastRotatingKafkaSilo>
{
    [Fact]
    public async Task with_64_clients_and_constant_rotation_every_record_is_in_exactly_one_segment_and_reaches_kafka_once()
    {
        const string topic = "rotating";
        silo.Kafka.CreateTopic(topic, partitions: 4);
        var ledger = new Ledger();
        await Task.WhenAll(Enumerable.Range(0, 64).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"r{c}-{i}", $"client-{c}", i));
            }
        })));

        var (_, duplicates) = ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
        Assert.Equal(0, duplicates);

        // Every sealed segment ends up in the archive once shipped; the open one stays in segments/.
        var segments = Path.Combine(silo.DataDirectory, "segments", topic);
        await Poll.Until(() => Directory.GetFiles(segments, "*.seg").Length == 0, TimeSpan.FromSeconds(30),
            "every sealed segment of 'rotating' to be shipped and moved to the archive");
        var archived = StoredRecords.ArchivedSegments(silo.DataDirectory, topic);
        // ~25 segments at 8 KiB; a segment is sealed after the commit that crosses the limit, and under
        // load one commit can hold dozens of records, so fewer, larger segments are right too.
        Assert.True(archived.Length >= 10, $"1,600 records of ~130 framed bytes in 8 KiB segments should rotate at least 10 times, archived {archived.Length}");
        var stored = StoredRecords.ReadArchive(silo.DataDirectory, topic).Concat(silo.Records(topic)).Select(r => r.ValueText).ToList();
        Assert.Equal(ledger.Count, stored.Count);
        Assert.Equal(ledger.Count, stored.Distinct().Count());
    }
}
