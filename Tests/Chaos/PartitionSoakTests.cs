using Ingest.Tests.Infrastructure;
using Ingest.Tests.Partitions;
using Ingest.Tests.Process;

namespace Ingest.Tests.Chaos;

/// <summary>
/// The partition soak: two silos and a frontend on hosts of their own, a paced load through the frontend,
/// and per round every fault between hosts on a silo chosen at random: cut off from every host, from its
/// peer only, from Redis only, from Kafka only, a lossy link (20 % of packets dropped) and a narrow one
/// (1 Mbit/s). A silo declared dead is started again on its disk, as an orchestrator would. At the end
/// every 202 must be in Kafka; duplicates and the time during which two silos took writes for one topic are
/// measured and reported. CI runs one round; <c>INGEST_PARTITION_ROUNDS</c> (or <c>Tests/Chaos/partitions.sh</c>) more.
/// </summary>
[Collection(nameof(ProcessTests))]
public sealed class PartitionSoakTests
{
    private static int Rounds => int.TryParse(Environment.GetEnvironmentVariable("INGEST_PARTITION_ROUNDS"), out var rounds) && rounds > 0 ? rounds : 1;

    [Fact]
    public async Task under_cuts_partial_cuts_loss_and_a_narrow_link_every_202_reaches_kafka_and_two_writers_per_topic_stay_within_a_second()
    {
        var rounds = Rounds;
        // The broker keeps ~5 MiB per partition; a round sends ~30k records of ~150 bytes over 8 topics.
        await using var bed = await PartitionBed.StartAsync(topics: 8, partitions: Math.Max(1, rounds / 4 + 1));
        var timeline = new Timeline();
        var (a, b, api) = await bed.StartClusterAsync();
        var silos = new Dictionary<string, HostProcess> { ["a"] = a, ["b"] = b };
        using var client = PartitionBed.ClientOf(api);
        await using var load = new TimedLoad(client, bed.Topics, bed.Ledgers);
        var random = new Random(Environment.TickCount);

        async Task Progress(string phase, int records = 300)
        {
            var target = load.Accepted + records;
            await Poll.Until(() => load.Accepted >= target, TimeSpan.FromSeconds(90), $"{records} more records accepted ({phase})");
        }

        // A silo declared dead stops (Orleans ends it); it starts again on its disk and rejoins.
        async Task RestartTheRemoved(string phase)
        {
            await Poll.Until(() => silos.Values.Any(s => s.HasExited), TimeSpan.FromSeconds(90), $"the silo declared dead to stop ({phase})");
            var removed = silos.Single(s => s.Value.HasExited).Key;
            timeline.Note($"{phase}: silo {removed} was declared dead and stopped ({silos[removed].ExitCode}); restarting it on its disk");
            silos[removed] = bed.StartSilo(removed);
            await ClusterBed.WaitForSilosAsync(2, silos["a"], silos["b"], api);
        }

        string Pick() => random.Next(2) == 0 ? "a" : "b";

        for (var round = 0; round < rounds; round++)
        {
            await Progress($"round {round}, start");

            var victim = Pick();
            bed.Network.Isolate(bed.Network[victim]);
            timeline.Note($"round {round}: {victim} cut off from every host");
            await Poll.Until(async () => await PartitionBed.ActiveSilos(silos[Other(victim)]) == 1, TimeSpan.FromSeconds(90), $"{Other(victim)} to declare {victim} dead");
            await Progress($"round {round}, {victim} cut off");
            bed.Network.Heal(bed.Network[victim]);
            await RestartTheRemoved($"round {round}, full cut healed");

            victim = Pick();
            bed.Network.Block(bed.Network[victim], bed.Network[Other(victim)].Address);
            timeline.Note($"round {round}: {victim} and {Other(victim)} cut off from each other");
            await Poll.Until(() => silos.Values.Any(s => s.HasExited), TimeSpan.FromSeconds(90), $"one silo to be declared dead (round {round}, peers only)");
            bed.Network.Heal(bed.Network[victim]);
            await RestartTheRemoved($"round {round}, peers-only cut healed");

            victim = Pick();
            bed.Network.Block(bed.Network[victim], bed.Network.Gateway, bed.Redis.Port);
            timeline.Note($"round {round}: {victim} cut off from Redis");
            var byPeers = await bed.MembershipChecks(victim, "peers");
            await Poll.Until(async () => await bed.MembershipChecks(victim, "peers") >= byPeers + 8, TimeSpan.FromSeconds(60),
                $"{victim}'s lease to be confirmed by its peer 8 times (twice Cluster:IsolationTimeout) without Redis");
            Assert.Equal(2, await PartitionBed.ActiveSilos(silos[victim]));
            bed.Network.Heal(bed.Network[victim]);

            // A silo with topics (after restarts one may own none): the one whose appended count grows more.
            var before = new[] { await bed.MetricOf("a", "ingest_records_appended_total"), await bed.MetricOf("b", "ingest_records_appended_total") };
            await Progress($"round {round}, sampling which silo appends");
            victim = await bed.MetricOf("a", "ingest_records_appended_total") - before[0] >= await bed.MetricOf("b", "ingest_records_appended_total") - before[1] ? "a" : "b";
            bed.Network.Block(bed.Network[victim], bed.Network.Gateway, bed.BrokerPort);
            timeline.Note($"round {round}: {victim} cut off from Kafka");
            await Poll.Until(async () => await bed.Backlog(victim) > 200, TimeSpan.FromSeconds(60), $"{victim}'s backlog to grow past 200 records without Kafka");
            bed.Network.Heal(bed.Network[victim]);

            victim = Pick();
            bed.Network.Lossy(bed.Network[victim], 20);
            timeline.Note($"round {round}: {victim} drops 20 % of its packets");
            await Progress($"round {round}, {victim} lossy", 4000);
            bed.Network.Heal(bed.Network[victim]);

            victim = Pick();
            bed.Network.Slow(bed.Network[victim], kbit: 1000, queueMs: 200);
            timeline.Note($"round {round}: {victim} on a 1 Mbit/s link");
            await Progress($"round {round}, {victim} slow", 4000);
            bed.Network.Heal(bed.Network[victim]);
            timeline.Note($"round {round} done: {load}");
        }

        await load.StopAsync();
        timeline.Note($"load stopped: {load}");
        Assert.False(load.Outcomes.ContainsKey("no answer"), $"requests without an answer within the client's 10 s: {load}");
        Assert.DoesNotContain(load.Outcomes.Keys, outcome => outcome is not ("202" or "503"));

        var duplicates = 0;
        foreach (var (topic, ledger) in bed.Ledgers)
        {
            duplicates += ledger.ReadAndAssertDelivered(bed.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(120), keyOrder: false).Duplicates;
        }

        var twoWriters = bed.Topics.ToDictionary(topic => topic, topic => bed.TwoWriterMs(topic, "a", "b"));
        timeline.Note($"every 202 is in Kafka: {load.Accepted} records, {duplicates} duplicates; two writers per topic (ms): {string.Join(", ", twoWriters.Select(t => $"{t.Key} {t.Value}"))}");
        timeline.Attach();
        Assert.True(twoWriters.Values.Max() <= 2000, $"two silos took writes for one topic for at most ~1 s at a time (the lease's check period plus a table read); saw {twoWriters.Values.Max()} ms");
    }

    private static string Other(string silo) => silo == "a" ? "b" : "a";
}
