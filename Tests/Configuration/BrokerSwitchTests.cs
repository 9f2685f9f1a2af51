using System.Collections.Concurrent;
using System.Net;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;
using Ingest.Tests.Process;

namespace Ingest.Tests.Configuration;

public sealed class BrokerSwitchTests : IAsyncLifetime
{
    private static readonly string[] Topics = ["switch-0", "switch-1", "switch-2", "switch-3"];

    private readonly KafkaSilo _silo = new();
    private readonly MockKafkaCluster _brokerB = MockKafkaCluster.Start(brokers: 1);
    private readonly ConcurrentDictionary<string, Ledger> _ledgers = new();

    public async ValueTask InitializeAsync()
    {
        await _silo.InitializeAsync();
        foreach (var topic in Topics)
        {
            _silo.Kafka.CreateTopic(topic, partitions: 2);
            _brokerB.CreateTopic(topic, partitions: 2);
            _ledgers[topic] = new Ledger();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _silo.DisposeAsync();
        await _brokerB.DisposeAsync();
    }

    [Fact]
    public async Task switching_the_brokers_from_a_to_b_under_load_loses_no_record_that_got_a_202()
    {
        // No Admin:Key on this silo: the admin API answers loopback clients, which the test is.
        var admin = new AdminClient(_silo.Http, "unused");
        int acceptedBeforeSwitch;
        int acceptedAtSwap;
        await using (var load = new TopicLoad(_silo.Http, Topics, _ledgers, clients: 6))
        {
            await Poll.Until(() => load.Accepted > 400, TimeSpan.FromSeconds(30), "400 records accepted while shipping to broker A");
            acceptedBeforeSwitch = load.Accepted;
            var version = await admin.ApplyAsync(config => config["kafka"]!["bootstrapServers"] = _brokerB.BootstrapServers);
            await Producer.RunsVersionAsync(_silo.Http, version);
            var producer = _silo.Service<Ingest.Kafka.KafkaProducerHost>();
            await Poll.Until(() => producer.Generation == 1, TimeSpan.FromSeconds(5), "the Kafka producer to be rebuilt for broker B");
            acceptedAtSwap = load.Accepted;
            await Poll.Until(() => load.Accepted > acceptedAtSwap + 800, TimeSpan.FromSeconds(30), "800 more records accepted after the producer for broker B took over");
            await load.StopAsync();
            Assert.Empty(load.Unexpected);
        }

        var inA = 0;
        var inB = 0;
        var duplicates = 0;
        foreach (var topic in Topics)
        {
            var ledger = _ledgers[topic];
            var read = KafkaTestClient.ReadUntilSeenAcross([_silo.Kafka.BootstrapServers, _brokerB.BootstrapServers], topic, ledger.Ids, TimeSpan.FromSeconds(60));
            duplicates += ledger.AssertDelivered([.. read[0], .. read[1]], keyOrder: false);
            inA += read[0].Count;
            inB += read[1].Count;
        }

        TestContext.Current.SendDiagnosticMessage($"{_ledgers.Values.Sum(l => l.Count)} records got 202 ({acceptedBeforeSwitch} before the switch, {acceptedAtSwap} before the new producer took over): {inA} messages in A, {inB} in B, {duplicates} duplicates");
        Assert.True(inA >= acceptedBeforeSwitch / 2, $"broker A received the records from before the switch ({inA} messages)");
        Assert.True(inB >= 800, $"broker B received at least the 800 records accepted after the new producer took over ({inB} messages)");
    }

    [Fact]
    public async Task switching_away_from_brokers_that_are_down_ships_everything_held_for_them_to_the_new_brokers()
    {
        var admin = new AdminClient(_silo.Http, "unused");
        _silo.Kafka.SetBrokerDown();
        await _silo.AssertKafkaUnreachableAsync();
        await using (var load = new TopicLoad(_silo.Http, Topics, _ledgers, clients: 4))
        {
            await Poll.Until(() => load.Accepted > 300, TimeSpan.FromSeconds(30), "300 records accepted while broker A is down");
            await admin.ApplyAsync(config => config["kafka"]!["bootstrapServers"] = _brokerB.BootstrapServers);
            var producer = _silo.Service<Ingest.Kafka.KafkaProducerHost>();
            await Poll.Until(() => producer.Generation == 1, TimeSpan.FromSeconds(5), "the Kafka producer to be rebuilt for broker B");
            var atSwap = load.Accepted;
            await Poll.Until(() => load.Accepted > atSwap + 300, TimeSpan.FromSeconds(30), "300 more records accepted after the switch");
            await load.StopAsync();
            Assert.Empty(load.Unexpected);
        }

        // What the dead broker never acknowledged is resent from the checkpoints: all of it is in B.
        foreach (var topic in Topics)
        {
            var ledger = _ledgers[topic];
            var read = KafkaTestClient.ReadUntilSeenAcross([_brokerB.BootstrapServers], topic, ledger.Ids, TimeSpan.FromSeconds(60));
            ledger.AssertDelivered(read[0], keyOrder: false);
        }
    }
}
