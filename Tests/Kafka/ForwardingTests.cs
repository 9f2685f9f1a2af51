using System.Net;
using Ingest.Diagnostics;
using Ingest.Kafka;
using Ingest.Kafka.DevBroker;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Kafka;

public sealed class ForwardingTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task a_topic_mapped_in_kafka_topics_ships_to_the_renamed_kafka_topic_and_no_dev_broker_runs()
    {
        silo.Kafka.CreateTopic("web.clicks.v1", partitions: 2);
        var ledger = new Ledger();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, "clicks", $"click-{i}", "u1", i));
        }

        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, "web.clicks.v1", TimeSpan.FromSeconds(30));
        Assert.False(silo.Service<Ingest.Kafka.KafkaEndpoint>().IsDevBroker, "with Kafka:BootstrapServers set, the development broker must not start");
    }

    [Fact]
    public async Task twenty_thousand_records_keyed_and_unkeyed_single_and_batch_all_reach_kafka_once_in_key_order()
    {
        const string topic = "e2e";
        silo.Kafka.CreateTopic(topic, partitions: 8);
        var ledger = new Ledger();

        // 10 clients: each owns its keys and sends them in order. Per client: 500 single keyed,
        // 500 single unkeyed, 10 keyed batches of 50, 10 unkeyed batches of 50 = 2,000 records.
        await Task.WhenAll(Enumerable.Range(0, 10).Select(c => Task.Run(async () =>
        {
            var sequence = 0;
            for (var i = 0; i < 500; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"c{c}-s{i}", $"key-{c}-{i % 5}", sequence++));
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"c{c}-u{i}", null, sequence++));
            }

            for (var b = 0; b < 10; b++)
            {
                var keyed = Enumerable.Range(0, 50).Select(r => ($"c{c}-kb{b}-{r}", sequence++)).ToList();
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostBatch(silo.Http, topic, keyed, $"key-{c}-{b % 5}"));
                var unkeyed = Enumerable.Range(0, 50).Select(r => ($"c{c}-ub{b}-{r}", sequence++)).ToList();
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostBatch(silo.Http, topic, unkeyed, null));
            }
        })));

        Assert.Equal(20_000, ledger.Count);
        var (consumed, duplicates) = ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(90));

        Assert.Equal(0, duplicates);
        // Unkeyed records are spread over partitions, not piled on one.
        Assert.True(consumed.Where(m => m.Key is null).Select(m => m.Partition).Distinct().Count() > 1);
    }
}

public sealed class KafkaOutageTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task with_every_broker_down_for_ten_seconds_ingest_keeps_answering_202_and_every_record_arrives_after_in_key_order()
    {
        var ledger = await Outage.RunAsync(silo, "outage", TimeSpan.FromSeconds(10));

        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, "outage", TimeSpan.FromSeconds(90));
    }
}

/// <summary>A silo whose producer gives up on a message after 2 s, so an outage drives the retry-from-checkpoint path.</summary>
public sealed class ImpatientKafkaSilo : KafkaSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Kafka:ProducerSettings:message.timeout.ms", "2000"),
        new("Kafka:MaxRetryBackoff", "00:00:01"),
    ];
}

public sealed class DeliveryFailureTests(ImpatientKafkaSilo silo) : IClassFixture<ImpatientKafkaSilo>
{
    [Fact]
    public async Task expired_deliveries_are_resent_from_the_checkpoint_and_nothing_is_lost()
    {
        var errors = 0L;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        var instruments = silo.Service<IngestInstruments>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument, instruments.DeliveryErrors))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref errors, value));
        listener.Start();

        var ledger = await Outage.RunAsync(silo, "expiring", TimeSpan.FromSeconds(5));

        Assert.True(Interlocked.Read(ref errors) > 0, "deliveries should have expired during the outage (message.timeout.ms=2000)");
        var (_, duplicates) = ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, "expiring", TimeSpan.FromSeconds(90), keyOrder: false);
        Assert.InRange(duplicates, 0, ledger.Count);
    }
}

internal static class Outage
{
    /// <summary>Keyed load through an outage of every broker; every request must get 202 throughout.</summary>
    public static async Task<Ledger> RunAsync(KafkaSilo silo, string topic, TimeSpan outage)
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
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Poll.Until(() => clock.Elapsed >= outage, outage + TimeSpan.FromSeconds(10), $"{outage.TotalSeconds} s of outage under load");
        var acceptedDuring = ledger.Count - acceptedBefore;
        silo.Kafka.SetBrokerUp();
        await Poll.Until(() => ledger.Count > acceptedBefore + acceptedDuring + 200, TimeSpan.FromSeconds(30), "200 more records accepted after the outage");
        stop.Cancel();
        await Task.WhenAll(load);

        Assert.True(acceptedDuring > 100, $"ingest should have kept accepting during the outage (accepted {acceptedDuring})");
        Assert.Equal(0, ledger.Refused);
        return ledger;
    }
}

public sealed class ProduceErrorTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task injected_not_leader_timeouts_and_disconnects_lose_nothing()
    {
        const string topic = "produce-errors";
        silo.Kafka.CreateTopic(topic, partitions: 4);
        var instruments = silo.Service<IngestInstruments>();
        var ledger = new Ledger();
        for (var i = 0; i < 200; i++)
        {
            await ledger.PostOne(silo.Http, topic, $"warm-{i}", $"k{i % 4}", i);
        }

        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
        await Poll.Until(() => instruments.MessagesTransmitted >= instruments.ShippedTotal && instruments.ShippedTotal >= 200, TimeSpan.FromSeconds(10), "producer statistics to catch up");
        var retransmittedBefore = instruments.MessagesTransmitted - instruments.ShippedTotal;

        silo.Kafka.PushRequestErrors(KafkaApiKey.Produce,
            KafkaErrorCode.NotLeaderForPartition, KafkaErrorCode.NotLeaderForPartition, KafkaErrorCode.RequestTimedOut,
            KafkaErrorCode.NotEnoughReplicas, KafkaErrorCode.RequestTimedOut, KafkaErrorCode.NotLeaderForPartition);
        var load = Task.Run(async () =>
        {
            for (var i = 200; i < 2200; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"e-{i}", $"k{i % 4}", i));
            }
        });
        await Poll.Until(() => ledger.Count > 800, TimeSpan.FromSeconds(30), "load under way");
        // A disconnect: broker 1 drops its connections and comes back.
        silo.Kafka.SetBrokerDown(1);
        await Poll.Until(() => ledger.Count > 1200, TimeSpan.FromSeconds(30), "load while broker 1 is down");
        silo.Kafka.SetBrokerUp(1);
        await load;

        try
        {
            // librdkafka resends some requests hit by injected errors only after its 60 s socket timeout
            // (measured in the chaos soak); two such rounds exceed 90 s on a busy host. The read returns as
            // soon as every record is seen, so the long deadline costs nothing when all is well.
            ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(240));
        }
        catch (Exception) when (Diagnose())
        {
            throw;
        }

        bool Diagnose()
        {
            // What the forwarder believed when a record was missing: a stuck report, or a report of success.
            var status = silo.Service<Ingest.Forwarding.ForwardingEngine>().Status().Single(s => s.Topic == topic);
            TestContext.Current.SendDiagnosticMessage($"forwarder at failure: {status}");
            TestContext.Current.AddAttachment("forwarder-status", status.ToString());
            return false;
        }

        await Poll.Until(
            () => instruments.MessagesTransmitted - instruments.ShippedTotal > retransmittedBefore,
            TimeSpan.FromSeconds(30),
            "librdkafka to report retransmitted messages (the injected errors and the disconnect were hit)");
    }
}

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

public sealed class FatalProducerErrorTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task a_fatal_producer_error_rebuilds_the_producer_and_every_record_still_arrives()
    {
        const string topic = "fatal";
        silo.Kafka.CreateTopic(topic, partitions: 2);
        var producer = silo.Service<KafkaProducerHost>();
        var ledger = new Ledger();
        for (var i = 0; i < 100; i++)
        {
            await ledger.PostOne(silo.Http, topic, $"before-{i}", "k", i);
        }

        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(30));
        var generation = producer.Generation;

        // OUT_OF_ORDER_SEQUENCE_NUMBER on a produce is fatal for an idempotent producer.
        silo.Kafka.PushRequestErrors(KafkaApiKey.Produce, 45);
        for (var i = 100; i < 600; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"after-{i}", "k", i));
        }

        await Poll.Until(() => producer.Generation > generation, TimeSpan.FromSeconds(30), "the producer to be rebuilt after the fatal error");
        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60), keyOrder: false);
    }
}
