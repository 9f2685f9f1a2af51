using System.Net;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Kafka;

internal static class Outage
{
    /// <summary>
    /// Keyed load through an outage of every broker, which lasts until <paramref name="over"/> holds and at
    /// least <paramref name="recordsDuring"/> records were accepted in it; every request must get 202 throughout.
    /// </summary>
    public static async Task<Ledger> RunAsync(KafkaSilo silo, string topic, int recordsDuring, Func<bool>? over = null, string? what = null)
    {
        silo.Kafka.CreateTopic(topic, partitions: 4);
        var ledger = new Ledger();
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"o{c}-{i}", $"k{c}", i));
            }
        })).ToArray();

        await Poll.Until(() => ledger.Count > 500, TimeSpan.FromSeconds(30), "500 records accepted before the outage");
        silo.Kafka.SetBrokerDown();
        var acceptedBefore = ledger.Count;
        await silo.AssertKafkaUnreachableAsync();
        await Poll.Until(
            () => ledger.Count - acceptedBefore >= recordsDuring && (over is null || over()),
            TimeSpan.FromSeconds(60),
            $"{recordsDuring} records accepted with every broker down" + (what is null ? "" : " and " + what));
        var acceptedDuring = ledger.Count - acceptedBefore;
        silo.Kafka.SetBrokerUp();
        await Poll.Until(() => ledger.Count > acceptedBefore + acceptedDuring + 200, TimeSpan.FromSeconds(30), "200 more records accepted after the outage");
        stop.Cancel();
        await Task.WhenAll(load);

        Assert.Equal(0, ledger.Refused);
        return ledger;
    }
}
