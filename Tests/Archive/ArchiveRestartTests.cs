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

public sealed class ArchiveRestartTests : IAsyncLifetime
{
    private readonly KafkaSilo _silo = new();

    public ValueTask InitializeAsync() => _silo.InitializeAsync();

    public ValueTask DisposeAsync() => _silo.DisposeAsync();

    [Fact]
    public async Task a_segment_sealed_while_kafka_is_down_and_the_silo_restarted_is_shipped_once_then_archived()
    {
        const string topic = "restart";
        _silo.Kafka.CreateTopic(topic, partitions: 4);
        _silo.Kafka.SetBrokerDown();
        await _silo.AssertKafkaUnreachableAsync();
        var ledger = new Ledger();
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(_silo.Http, topic, $"restart-{i}", "k", i));
        }

        // Stopping deactivates the topic grain, which seals the segment; nothing could be shipped.
        await _silo.RestartAsync();
        var segments = Path.Combine(_silo.DataDirectory, "segments", topic);
        Assert.Equal(["000000000001.seg"], Directory.GetFiles(segments, "*.seg").Select(Path.GetFileName));
        Assert.Empty(StoredRecords.ArchivedSegments(_silo.DataDirectory, topic));

        _silo.Kafka.SetBrokerUp();
        var (_, duplicates) = ledger.ReadAndAssertDelivered(_silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
        Assert.Equal(0, duplicates);
        await Poll.Until(() => StoredRecords.ArchivedSegments(_silo.DataDirectory, topic).Length == 1, TimeSpan.FromSeconds(30),
            "the shipped segment to be moved to archive/<day>/restart/");
        Assert.Empty(Directory.GetFiles(segments, "*.seg"));
        Assert.Equal(50, StoredRecords.ReadArchive(_silo.DataDirectory, topic).Count);
    }
}
