using System.Net;
using System.Text.Json;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Operations;

/// <summary>A forwarding silo with a 32 KiB disk budget that deletes what Kafka acknowledged at once.</summary>
public sealed class SmallBudgetKafkaSilo : KafkaSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Ingest:MaxDiskBytes", (32 * 1024).ToString()),
        new("Ingest:RetentionDays", "0"),
    ];
}

public sealed class ReadinessTests(SmallBudgetKafkaSilo silo) : IClassFixture<SmallBudgetKafkaSilo>
{
    [Fact]
    public async Task readyz_turns_503_with_the_reason_when_the_disk_budget_is_exhausted_and_200_again_once_kafka_drains_it()
    {
        const string topic = "fills-up";
        silo.Kafka.CreateTopic(topic, partitions: 2);
        var ledger = new Ledger();
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/readyz")).StatusCode);

        silo.Kafka.SetBrokerDown();
        await silo.AssertKafkaUnreachableAsync();
        var refused = false;
        for (var i = 0; i < 1000 && !refused; i++)
        {
            refused = await ledger.PostOne(silo.Http, topic, $"fill-{i}", null, i) == HttpStatusCode.ServiceUnavailable;
        }

        Assert.True(refused, "32 KiB of budget runs out within 1,000 records");
        var (status, reasons) = await Readiness();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains(reasons, r => r.Contains("disk budget", StringComparison.Ordinal));

        silo.Kafka.SetBrokerUp();
        await Poll.Until(async () => (await Readiness()).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60),
            "/readyz to turn 200 once the backlog is shipped and deleted");
        Assert.Empty((await Readiness()).Reasons);
        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
    }

    private async Task<(HttpStatusCode Status, List<string> Reasons)> Readiness()
    {
        using var response = await silo.Http.GetAsync("/readyz");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (response.StatusCode, body.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToList());
    }
}
