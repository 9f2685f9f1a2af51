using System.Net;
using Ingest.Diagnostics;
using Ingest.Kafka;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Kafka;

/// <summary>A silo with a 256 KiB disk budget, so a Kafka outage fills it quickly.</summary>
public sealed class SmallDiskKafkaSilo : KafkaSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [new("Ingest:MaxDiskBytes", (256 * 1024).ToString())];
}

public sealed class BackpressureTests(SmallDiskKafkaSilo silo) : IClassFixture<SmallDiskKafkaSilo>
{
    [Fact]
    public async Task a_full_disk_budget_while_kafka_is_down_answers_503_then_202_once_the_backlog_drains_and_loses_nothing()
    {
        const string topic = "backpressure";
        silo.Kafka.CreateTopic(topic, partitions: 4);
        var ledger = new Ledger();
        silo.Kafka.SetBrokerDown();
        await silo.AssertKafkaUnreachableAsync();

        HttpStatusCode status = HttpStatusCode.Accepted;
        var i = 0;
        while (status == HttpStatusCode.Accepted && i < 10_000)
        {
            status = await ledger.PostOne(silo.Http, topic, $"b-{i}", $"k{i % 8}", i);
            i++;
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var refused = await silo.Http.PostAsync($"/v1/topics/{topic}?key=k0", new StringContent(Ledger.Record("probe", "k0", 0)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.InRange(ledger.Count, 100, 5000);

        silo.Kafka.SetBrokerUp();
        await Poll.Until(
            async () => await ledger.PostOne(silo.Http, topic, $"after-{i++}", "k0", i) == HttpStatusCode.Accepted,
            TimeSpan.FromSeconds(60),
            "a 202 again once the backlog shipped and its segments were deleted");

        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
    }
}
