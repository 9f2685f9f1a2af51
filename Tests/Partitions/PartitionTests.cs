using System.Diagnostics;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;
using Ingest.Tests.Process;

namespace Ingest.Tests.Partitions;

/// <summary>
/// Faults between hosts: two silos and a frontend on hosts of their own (network namespaces), one silo
/// cut off while clients keep sending, then healed. See README "Failure model".
/// </summary>
[Collection(nameof(ProcessTests))]
public sealed class PartitionTests
{
    [Fact]
    public async Task a_silo_cut_off_from_every_host_loses_no_acknowledged_record_every_client_is_answered_in_time_and_the_connected_silo_stays()
    {
        await using var bed = await PartitionBed.StartAsync(topics: 12);
        var timeline = new Timeline();

        var (a, b, api) = await bed.StartClusterAsync();
        timeline.Note("two silos and the frontend ready");

        using var client = PartitionBed.ClientOf(api);
        await using var load = new TimedLoad(client, bed.Topics, bed.Ledgers);
        await Poll.Until(() => load.Accepted >= 500, TimeSpan.FromSeconds(60), "500 records accepted before the cut");
        load.ResetLongest();
        timeline.Note($"before the cut: {load}");

        var cut = Stopwatch.StartNew();
        bed.Network.Isolate(bed.Network["b"]);
        // The fault is real: silo B's host answers nobody (its own address, from the root side, times out).
        await Assert.ThrowsAnyAsync<Exception>(() => new HttpClient { Timeout = TimeSpan.FromSeconds(2) }.GetAsync($"http://{bed.Network["b"].Address}:{PartitionBed.HttpPort}/healthz"));
        timeline.Note("silo B isolated (its HTTP port times out from the root side)");

        // Seen from inside B's host, where a client could still reach it: within Cluster:IsolationTimeout (4 s)
        // and one check, B stops saying ready and refuses appends, long before A can declare it dead.
        await Poll.Until(() => bed.GetInside("b", "/readyz") is { Status: 503 }, TimeSpan.FromSeconds(10), "silo B, cut off, to answer 503 on /readyz");
        var fencedAfter = cut.Elapsed;
        // A topic of its own, outside the ledgers: a 503 "may or may not be stored" may yet be stored.
        var refused = bed.PostInside("b", "/v1/topics/inside-b", """{"inside":"b"}""");
        timeline.Note($"B fenced after {fencedAfter.TotalSeconds:0.0} s: /readyz {bed.GetInside("b", "/readyz")}; a POST inside B: {refused}");
        Assert.Equal(503, refused?.Status);
        Assert.True(await PartitionBed.ActiveSilos(a) == 2, "A has not declared B dead yet: B fenced itself first");

        await Poll.Until(async () => await PartitionBed.ActiveSilos(a) == 1, TimeSpan.FromSeconds(60), "silo A to see one active silo (B declared dead)");
        var declared = Stopwatch.GetTimestamp();
        timeline.Note($"A declared B dead {cut.Elapsed.TotalSeconds:0.0} s after the cut");
        // Then B's topics move to A: every topic takes writes again through the frontend within seconds.
        await Poll.Until(() => bed.Topics.All(t => load.LastAccepted(t) > declared), TimeSpan.FromSeconds(30), "every topic to get a 202 for a request sent after B was declared dead");
        var movedIn = Stopwatch.GetElapsedTime(declared);
        timeline.Note($"every topic accepts again {movedIn.TotalSeconds:0.0} s after B was declared dead");
        Assert.True(movedIn < TimeSpan.FromSeconds(15), $"B's topics should accept again on A within ~10 s of B's removal, took {movedIn}");
        timeline.Note($"silo A sees 1 active silo; B inside: {bed.GetInside("b", "/readyz")}");
        Assert.Equal(503, bed.GetInside("b", "/readyz")?.Status);
        var acceptedAtDeath = load.Accepted;
        await Poll.Until(() => load.Accepted >= acceptedAtDeath + 500, TimeSpan.FromSeconds(60), "500 more records accepted with B cut off");
        timeline.Note($"during the cut: {load}; B inside: {bed.GetInside("b", "/readyz")}");

        bed.Network.Heal(bed.Network["b"]);
        timeline.Note("healed");
        var healedAt = load.Accepted;
        await Poll.Until(() => load.Accepted >= healedAt + 500 || a.HasExited, TimeSpan.FromSeconds(60), "500 more records accepted after healing");
        await Poll.Until(() => b.HasExited || a.HasExited, TimeSpan.FromSeconds(60), "the silo that was declared dead to stop");
        timeline.Note($"after healing: A exited {a.HasExited}{(a.HasExited ? $" ({a.ExitCode})" : "")}, B exited {b.HasExited}{(b.HasExited ? $" ({b.ExitCode})" : "")}; {load}");
        await load.StopAsync();
        timeline.Note($"load stopped: {load}");

        Assert.False(a.HasExited, $"silo A, which stayed connected, exited with {(a.HasExited ? a.ExitCode : 0)}:\n{Tail(a.Output)}");
        // B read its own Dead row once it could reach Redis again and left cleanly: sealed, shipped, exit code 5.
        Assert.True(b.HasExited, "silo B, declared dead while cut off, stopped once healed");
        AssertLeftCleanly(b, bed.DataOf("b"));
        Assert.Contains(" 0 records not yet in Kafka", b.Output, StringComparison.Ordinal); // it reached Kafka again: it shipped its backlog
        timeline.Note(System.Text.RegularExpressions.Regex.Match(b.Output, @"Left the cluster .*").Value);
        // Every client had its answer within Cluster:ResponseTimeout (3 s here) and the sweep's period: a 202,
        // or a 503 with Retry-After while B's topics moved to A. None waited out its own 10 s timeout.
        Assert.False(load.Outcomes.ContainsKey("no answer"), $"requests without an answer: {load}");
        Assert.True(load.Longest < TimeSpan.FromSeconds(4.5), $"longest wait for an answer {load.Longest.TotalSeconds:0.0} s (Cluster:ResponseTimeout is 3 s): {load}");
        Assert.True(load.Outcomes.GetValueOrDefault("503") > 0, $"the cut was felt by clients (some 503 while B's topics moved): {load}");
        Assert.Equal(["202", "503"], load.Outcomes.Keys.Order(StringComparer.Ordinal));

        // B shipped what it stored before it exited (it reached Kafka again once healed): with B not restarted,
        // every acknowledged record is in Kafka.
        foreach (var (topic, ledger) in bed.Ledgers)
        {
            ledger.ReadAndAssertDelivered(bed.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(90), keyOrder: false);
        }

        timeline.Note("every acknowledged record is in Kafka, B not restarted");
        timeline.Attach();
    }

    [Fact]
    public async Task silos_cut_off_from_each_other_but_not_from_redis_or_clients_keep_one_writer_per_topic_within_a_second_and_lose_nothing()
    {
        await using var bed = await PartitionBed.StartAsync(topics: 12);
        var timeline = new Timeline();

        var (a, b, api) = await bed.StartClusterAsync();
        var silos = new Dictionary<string, HostProcess> { ["a"] = a, ["b"] = b };
        using var client = PartitionBed.ClientOf(api);
        await using var load = new TimedLoad(client, bed.Topics, bed.Ledgers);
        await Poll.Until(() => load.Accepted >= 500, TimeSpan.FromSeconds(60), "500 records accepted before the cut");
        load.ResetLongest();
        // Either silo can lose, so each must hold topics of its own, or there is nothing to move.
        foreach (var silo in silos.Keys)
        {
            Assert.True(bed.Topics.Any(topic => bed.StoredBy(silo, topic).Count > 0), $"silo {silo} hosts some of the {bed.Topics.Length} topics before the cut: {load}");
        }

        var cutAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        bed.Network.Block(bed.Network["b"], bed.Network["a"].Address);
        // The fault is real and partial: B cannot reach A, but both still reach Redis and the frontend reaches both.
        Assert.Null(bed.CurlFrom("b", $"http://{bed.Network["a"].Address}:{PartitionBed.HttpPort}/healthz", 2));
        Assert.Equal(200, bed.CurlFrom("api", $"http://{bed.Network["b"].Address}:{PartitionBed.HttpPort}/healthz", 2)?.Status);
        timeline.Note("B and A cut off from each other (both reach Redis; the frontend reaches both)");

        // Each suspects the other; the first to write its vote to Redis wins, the other reads its own Dead row.
        await Poll.Until(() => silos.Values.Any(s => s.HasExited), TimeSpan.FromSeconds(90), "one silo to be declared dead and stop");
        var (loser, winner) = silos["a"].HasExited ? ("a", "b") : ("b", "a");
        timeline.Note($"silo {loser} was declared dead and stopped ({silos[loser].ExitCode}); {load}");
        AssertLeftCleanly(silos[loser], bed.DataOf(loser)); // once it read its own Dead row
        var afterLoss = load.Accepted;
        await Poll.Until(() => load.Accepted >= afterLoss + 500, TimeSpan.FromSeconds(60), $"500 more records accepted by silo {winner} alone");
        // The loser's topics move to the winner once the frontend's calls in flight to the dead silo have ended
        // (Cluster:ResponseTimeout): the 500 records can all be the winner's own topics' before that. Wait for the
        // winner to write one of the loser's topics, so that the two-writer time below is measured on a topic that moved.
        var losersTopics = bed.Topics.Where(topic => bed.StoredBy(loser, topic).Any(r => r.TimestampMs >= cutAtMs)).ToList();
        Assert.True(losersTopics.Count > 0, $"silo {loser} took writes after the cut: {load}");
        await Poll.Until(async () =>
        {
            foreach (var topic in losersTopics)
            {
                if (await bed.MetricOf(winner, "ingest_records_appended_total", ("topic", topic)) > 0)
                {
                    return true;
                }
            }

            return false;
        }, TimeSpan.FromSeconds(60), $"silo {winner} to write one of silo {loser}'s topics ({string.Join(", ", losersTopics)})");
        bed.Network.Heal(bed.Network["b"]);
        await load.StopAsync();
        timeline.Note($"healed; load stopped: {load}");
        Assert.False(silos[winner].HasExited, $"silo {winner} stays");
        // The loser still reached Redis: it read its own Dead row there (its lease, or Orleans first) and refused appends from then on.
        Assert.True(silos[loser].Output.Contains("reads Dead: appends refused", StringComparison.Ordinal)
            || silos[loser].Output.Contains("declared this silo dead", StringComparison.Ordinal), $"silo {loser} saw its own Dead row:\n{Tail(silos[loser].Output)}");

        // Two writers: for each topic that moved from the loser to the winner, the time during which both stored it.
        var moved = bed.Topics
            .Where(topic => bed.StoredBy(loser, topic).Any(r => r.TimestampMs >= cutAtMs) && bed.StoredBy(winner, topic).Any(r => r.TimestampMs >= cutAtMs))
            .ToList();
        var overlaps = moved.Select(topic => bed.TwoWriterMs(topic, "a", "b")).DefaultIfEmpty(0).ToList();
        timeline.Note($"{moved.Count} topics moved from {loser} to {winner}; two writers per moved topic (ms): [{string.Join(", ", overlaps)}]");
        Assert.True(moved.Count > 0, "some topics of the loser were written on both silos after the cut (moved), so the overlap was measured");
        Assert.True(overlaps.Max() <= 2000, $"two silos took writes for one topic for at most ~1 s (the lease's check period) plus a table read; saw {overlaps.Max()} ms");
        Assert.False(load.Outcomes.ContainsKey("no answer"), $"requests without an answer: {load}");

        silos[loser] = bed.StartSilo(loser);
        await ClusterBed.WaitForSilosAsync(2, silos["a"], silos["b"], api);
        var duplicates = 0;
        foreach (var (topic, ledger) in bed.Ledgers)
        {
            duplicates += ledger.ReadAndAssertDelivered(bed.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(90), keyOrder: false).Duplicates;
        }

        timeline.Note($"every acknowledged record is in Kafka ({duplicates} duplicates)");
        timeline.Attach();
    }

    [Fact]
    public async Task a_silo_cut_off_from_redis_only_keeps_taking_writes_and_one_cut_off_from_kafka_only_holds_its_backlog_until_healed()
    {
        await using var bed = await PartitionBed.StartAsync(topics: 12);
        var timeline = new Timeline();

        var (a, b, api) = await bed.StartClusterAsync();
        using var client = PartitionBed.ClientOf(api);
        await using var load = new TimedLoad(client, bed.Topics, bed.Ledgers);
        await Poll.Until(() => load.Accepted >= 500, TimeSpan.FromSeconds(60), "500 records accepted before the faults");

        // Redis only: B's membership table is gone, its peer is not. The lease holds through the peer; nobody is removed.
        var host = bed.Network["b"];
        bed.Network.Block(host, bed.Network.Gateway, bed.Redis.Port);
        var byPeersBefore = await bed.MembershipChecks("b", "peers");
        // The lease checks once a second: eight confirmed by the peer alone is twice Cluster:IsolationTimeout without Redis.
        await Poll.Until(async () => await bed.MembershipChecks("b", "peers") >= byPeersBefore + 8, TimeSpan.FromSeconds(60),
            "B's lease to be confirmed by its peer 8 times while Redis is out of its reach");
        Assert.Equal(200, bed.CurlFrom("api", $"http://{host.Address}:{PartitionBed.HttpPort}/readyz", 5)?.Status);
        Assert.Equal(2, await PartitionBed.ActiveSilos(a));
        Assert.DoesNotContain("has not confirmed its membership", b.Output, StringComparison.Ordinal);
        timeline.Note($"B cut off from Redis: confirmed by its peer, still ready, 2 active silos, {load}");
        bed.Network.Heal(host);

        // Kafka only: B cannot ship. Its backlog grows and is reported; A ships as usual; nothing is lost.
        bed.Network.Block(host, bed.Network.Gateway, bed.BrokerPort);
        await Poll.Until(async () => (await bed.Backlog("b")) > 200, TimeSpan.FromSeconds(60), "B's backlog on /metrics to grow past 200 records while it cannot reach Kafka");
        var aBacklog = await bed.Backlog("a");
        timeline.Note($"B cut off from Kafka: backlog on B {await bed.Backlog("b")}, on A {aBacklog}; {load}");
        Assert.True(aBacklog < 200, $"A keeps shipping (backlog {aBacklog})");
        Assert.Equal(200, bed.CurlFrom("api", $"http://{host.Address}:{PartitionBed.HttpPort}/readyz", 5)?.Status); // the disk absorbs it: still ready
        bed.Network.Heal(host);
        await load.StopAsync();
        await Poll.Until(async () => await bed.Backlog("b") == 0, TimeSpan.FromSeconds(60), "B's backlog to drain once it reaches Kafka again");
        timeline.Note($"healed; B's backlog drained; {load}");

        Assert.False(a.HasExited || b.HasExited, "no silo was removed");
        Assert.False(load.Outcomes.ContainsKey("no answer"), $"requests without an answer: {load}");
        foreach (var (topic, ledger) in bed.Ledgers)
        {
            ledger.ReadAndAssertDelivered(bed.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(90), keyOrder: false);
        }

        timeline.Note("every acknowledged record is in Kafka");
        timeline.Attach();
    }

    /// <summary>A silo the cluster removed left as documented: no fatal error, every segment sealed, exit code 5.</summary>
    private static void AssertLeftCleanly(HostProcess silo, string dataDirectory)
    {
        Assert.True(silo.ExitCode == ExitCodes.RemovedFromCluster, $"exit code {silo.ExitCode}, expected {ExitCodes.RemovedFromCluster} (removed from the cluster):\n{Tail(silo.Output)}");
        Assert.DoesNotContain("FATAL", silo.Output, StringComparison.Ordinal);
        Assert.Matches(@"Left the cluster \(declared dead\) in [0-9.]+ s: 0 segments left open", silo.Output);
        Assert.Empty(Directory.GetFiles(dataDirectory, "*" + Ingest.Segments.SegmentFile.ActiveExtension, SearchOption.AllDirectories));
    }

    private static string Tail(string output) => string.Join('\n', output.Split('\n').TakeLast(40));
}
