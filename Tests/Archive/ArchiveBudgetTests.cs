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

/// <summary>A forwarding silo with a 64 KiB disk budget and 8 KiB segments: the archive soon competes with new appends.</summary>
public sealed class TightBudgetKafkaSilo : KafkaSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Ingest:MaxDiskBytes", "65536"),
        new("Ingest:MaxSegmentBytes", "8192"),
    ];
}

public sealed class ArchiveBudgetTests(TightBudgetKafkaSilo silo) : IClassFixture<TightBudgetKafkaSilo>
{
    [Fact]
    public async Task over_budget_the_oldest_archived_segments_go_first_and_unshipped_data_is_never_deleted()
    {
        const string topic = "evict";
        silo.Kafka.CreateTopic(topic, partitions: 2);
        var shipped = new Ledger();

        // ~260 KiB through a 64 KiB budget with Kafka up: archived segments make room for new appends. On a
        // busy host shipping can fall behind and the budget answers 503 (backpressure, nothing stored): the
        // producer retries, as a real one would, until the record gets its 202.
        for (var i = 0; i < 2000; i++)
        {
            var record = i;
            await Poll.Until(async () => await shipped.PostOne(silo.Http, topic, $"evict-{record}", "k", record) == HttpStatusCode.Accepted,
                TimeSpan.FromSeconds(30), $"record {record} to be accepted once shipping frees budget");
        }

        shipped.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
        var archived = StoredRecords.ArchivedSegments(silo.DataDirectory, topic).Select(p => long.Parse(Path.GetFileNameWithoutExtension(p))).Order().ToList();
        Assert.NotEmpty(archived);
        Assert.DoesNotContain(1L, archived); // the oldest went first...
        Assert.Equal(Enumerable.Range((int)archived[0], archived.Count).Select(n => (long)n), archived); // ...and what is left is the newest, without gaps

        // Kafka down: unshipped data fills the budget. The archive is given up first, then appends get 503.
        silo.Kafka.SetBrokerDown();
        await silo.AssertKafkaUnreachableAsync();
        var unshipped = new Ledger();
        HttpStatusCode status;
        var n = 0;
        do
        {
            status = await unshipped.PostOne(silo.Http, topic, $"unshipped-{n}", "k2", n);
            n++;
        }
        while (status == HttpStatusCode.Accepted && n < 5000);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Empty(StoredRecords.ArchivedSegments(silo.DataDirectory, topic));
        var stored = silo.Records(topic).Select(r => JsonDocument.Parse(r.Value).RootElement.GetProperty("id").GetString()).ToHashSet();
        Assert.All(unshipped.Ids, id => Assert.Contains(id, stored)); // every 202 of the outage is still on disk

        silo.Kafka.SetBrokerUp();
        unshipped.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
    }
}
