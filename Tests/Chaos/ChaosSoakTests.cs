using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;
using Ingest.Tests.Process;

namespace Ingest.Tests.Chaos;

/// <summary>
/// The chaos soak: a two-silo Redis cluster with an Api frontend, under a mixed load (single records and
/// batches, keyed and unkeyed, eight topics), while a scheduler SIGKILLs and restarts each silo, takes
/// every Kafka broker down and up, injects produce errors, and segments rotate constantly (8 KiB). At
/// the end every record that got a 202 must be in Kafka (read by an independent consumer against the
/// load's ledger), duplicates are counted and reported, no segment is left unshipped, and every
/// restart came up without help. CI runs the short form (<c>INGEST_SOAK_ROUNDS</c>, default 1 round of
/// the five faults); <c>chaos/soak.sh</c> runs it long.
/// </summary>
[Collection(nameof(ProcessTests))]
public sealed class ChaosSoakTests : IAsyncLifetime
{
    private static readonly string[] Topics = Enumerable.Range(0, 8).Select(i => $"chaos-{i}").ToArray();

    private ClusterBed _cluster = null!;

    /// <summary>
    /// Partitions per topic: the mock broker keeps about 5 MiB per partition and silently evicts older
    /// data, which the final read would report as lost. A round sends ~180k records over the 8 topics,
    /// so 4 partitions per topic hold about 5 rounds.
    /// </summary>
    private static int Partitions => 4 * (int)Math.Ceiling(Rounds / 5.0);

    private static int Rounds => int.TryParse(Environment.GetEnvironmentVariable("INGEST_SOAK_ROUNDS"), out var rounds) && rounds > 0 ? rounds : 1;

    public async ValueTask InitializeAsync() => _cluster = await ClusterBed.StartAsync("chaos", kafkaBrokers: 3, Topics, Partitions);

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task under_kills_kafka_outages_produce_errors_and_constant_rotation_every_202_reaches_kafka_and_nothing_is_left_unshipped()
    {
        var rounds = Rounds;
        var silos = new HostProcess?[] { HostProcess.Start("Silo", Silo(_cluster.DataA)), HostProcess.Start("Silo", Silo(_cluster.DataB)) };
        await using var api = HostProcess.Start("Api", _cluster.FrontendEnvironment());
        var log = new List<string>();
        var clock = Stopwatch.StartNew();
        var started = DateTimeOffset.UtcNow;
        try
        {
            await Task.WhenAll(silos[0]!.WaitReadyAsync(), silos[1]!.WaitReadyAsync(), api.WaitReadyAsync());
            using var client = new HttpClient { BaseAddress = api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            await using var load = new MixedLoad(client, Topics, _cluster.Ledgers);

            // Each fault starts once the load has had 400 more records accepted: paced by progress, not by a clock.
            async Task Progress(string phase)
            {
                var target = load.Accepted + 400;
                await Poll.Until(() => load.Accepted >= target, TimeSpan.FromSeconds(90), $"400 more records accepted ({phase})");
            }

            for (var round = 0; round < rounds; round++)
            {
                for (var s = 0; s < 2; s++)
                {
                    await Progress($"round {round}, before killing silo {s}");
                    await silos[s]!.KillAsync();
                    await silos[s]!.DisposeAsync();
                    log.Add($"{clock.Elapsed:mm\\:ss} SIGKILL silo {s}");
                    await Progress($"round {round}, while silo {s} is dead");
                    silos[s] = HostProcess.Start("Silo", Silo(s == 0 ? _cluster.DataA : _cluster.DataB));
                    await silos[s]!.WaitReadyAsync(); // restarts on its own data directory, no repair
                    log.Add($"{clock.Elapsed:mm\\:ss} silo {s} restarted and ready");
                }

                await Progress($"round {round}, before the Kafka outage");
                _cluster.Kafka.SetBrokerDown();
                await KafkaTestClient.AssertUnreachableAsync(_cluster.Kafka.BootstrapServers);
                log.Add($"{clock.Elapsed:mm\\:ss} all Kafka brokers down (a probe producer timed out)");
                for (var k = 0; k < 5; k++)
                {
                    await Progress($"round {round}, while Kafka is down ({k + 1}/5)"); // 2,000 records absorbed by the disk
                }

                _cluster.Kafka.SetBrokerUp();
                log.Add($"{clock.Elapsed:mm\\:ss} Kafka brokers up");

                await Progress($"round {round}, before produce errors");
                var retriesBefore = await RetransmissionsAsync(silos!);
                _cluster.Kafka.PushRequestErrors(KafkaApiKey.Produce,
                    KafkaErrorCode.NotLeaderForPartition, KafkaErrorCode.RequestTimedOut, KafkaErrorCode.NotEnoughReplicas,
                    KafkaErrorCode.NotLeaderForPartition, KafkaErrorCode.RequestTimedOut, KafkaErrorCode.NetworkException);
                // On a slow host the first retransmissions after the outage show ~58 s later (measured on 2026-12-02,
                // with this code and with 04bc7ad alike; CI once timed out at 60 s): the limit leaves room for that.
                await Poll.Until(async () => await RetransmissionsAsync(silos!) > retriesBefore, TimeSpan.FromSeconds(120),
                    "the silos' producers to retransmit (the injected produce errors were hit)");
                log.Add($"{clock.Elapsed:mm\\:ss} six produce errors injected and hit");
                await Progress($"round {round}, after produce errors");
            }

            await load.StopAsync();
            Assert.True(load.Unexpected.IsEmpty, "producers saw only 202 and 503: " + string.Join("; ", load.Unexpected.Take(10)));

            var duplicates = 0;
            var total = 0;
            foreach (var topic in Topics)
            {
                var (_, topicDuplicates) = _cluster.Ledgers[topic].ReadAndAssertDelivered(_cluster.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(120), keyOrder: false);
                duplicates += topicDuplicates;
                total += _cluster.Ledgers[topic].Count;
            }

            // Nothing left on disk unshipped: every silo's own gauges show no backlog, the cluster status (from the
            // Api, fanned out to both silos) agrees, and no sealed segment waits.
            await Poll.Until(async () => await BacklogBytesAsync(silos!) == 0, TimeSpan.FromSeconds(60), "every silo's ingest_backlog_bytes to return to 0");
            try
            {
                await Poll.Until(async () => await NoBacklogAsync(client), TimeSpan.FromSeconds(60), "every silo to report no backlog on /v1/status");
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}; the status says: {await client.GetStringAsync("/v1/status")}", e);
            }
            foreach (var root in _cluster.DataDirectories)
            {
                Assert.Empty(Directory.GetFiles(Path.Combine(root, "segments"), "*.seg", SearchOption.AllDirectories));
            }

            // The audit agrees, through kills and outages: verify finds every record the cluster counted as
            // acknowledged, and its copies are the duplicates an independent consumer counts by the test's own ids.
            var audited = new List<string>();
            foreach (var topic in Topics)
            {
                audited.Add(await AssertAuditAgreesAsync(silos[0]!.Http, client, topic, _cluster.Ledgers[topic], started));
            }

            var refused = _cluster.Ledgers.Values.Sum(l => l.Refused);
            TestContext.Current.SendDiagnosticMessage(
                $"chaos soak, {rounds} round(s) in {clock.Elapsed:mm\\:ss}: {total} records got 202 (all in Kafka), {refused} requests got 503, {duplicates} duplicates in Kafka; " +
                string.Join(" | ", log) + "; audit: " + string.Join(" | ", audited));
        }
        finally
        {
            foreach (var silo in silos.OfType<HostProcess>())
            {
                await silo.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// <c>audit verify</c> (asked of a silo) reports nothing missing or pending; what it found and the copies it
    /// counted by <c>ingest-id</c> are what a full read counts by the test's ids; the cluster stored every record
    /// answered 202 (and those of 503s a kill cut short, which ship too). Returns a summary line.
    /// </summary>
    private async Task<string> AssertAuditAgreesAsync(HttpClient silo, HttpClient frontend, string topic, Ledger ledger, DateTimeOffset started)
    {
        var window = $"from={Uri.EscapeDataString(started.AddHours(-1).ToString("o"))}&to={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(1).ToString("o"))}";
        var response = await silo.GetAsync($"/v1/admin/audit/{topic}/verify?{window}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        var verified = JsonDocument.Parse(body).RootElement;
        var hours = verified.GetProperty("hours").EnumerateArray().ToList();
        Assert.True(verified.GetProperty("missing").GetInt64() == 0 && verified.GetProperty("pending").GetInt64() == 0, $"{topic}: verify reports nothing missing or pending: {body}");

        var all = KafkaTestClient.ReadAll(_cluster.Kafka.BootstrapServers, topic, (int)verified.GetProperty("messagesRead").GetInt64(), TimeSpan.FromSeconds(60));
        var byTestId = all.GroupBy(m => JsonDocument.Parse(m.Value).RootElement.GetProperty("id").GetString()).ToList();
        Assert.Equal(byTestId.Count, hours.Sum(h => h.GetProperty("found").GetInt64()));
        Assert.Equal(all.Count - byTestId.Count, verified.GetProperty("extraCopies").GetInt64());
        Assert.All(all, m => Assert.True(m.Headers.ContainsKey("ingest-id"), "every message carries its ingest-id"));

        var audit = JsonDocument.Parse(await frontend.GetStringAsync($"/v1/admin/audit/{topic}?{window}")).RootElement.GetProperty("total"); // through the frontend, summed over both silos
        var stored = audit.GetProperty("stored").GetInt64();
        Assert.Equal(byTestId.Count, stored);
        Assert.Equal(stored, audit.GetProperty("acked").GetInt64());
        Assert.True(stored >= ledger.Count, $"{topic}: the cluster stored {stored}, at least the {ledger.Count} records answered 202");
        return $"{topic}: {stored} stored ({audit.GetProperty("accepted").GetInt64()} counted as answered), {verified.GetProperty("extraCopies").GetInt64()} copies, {audit.GetProperty("sentAgain").GetInt64()} sent again";
    }

    /// <summary>Messages the silos' producers sent beyond the records Kafka acknowledged: retries.</summary>
    private static async Task<double> RetransmissionsAsync(HostProcess?[] silos)
    {
        double retries = 0;
        foreach (var silo in silos.OfType<HostProcess>())
        {
            var metrics = await PrometheusText.ScrapeAsync(silo.Http);
            retries += metrics.Value("ingest_kafka_messages_transmitted_total") - metrics.Value("ingest_records_shipped_total");
        }

        return retries;
    }

    private static async Task<double> BacklogBytesAsync(HostProcess?[] silos)
    {
        double bytes = 0;
        foreach (var silo in silos.OfType<HostProcess>())
        {
            bytes += (await PrometheusText.ScrapeAsync(silo.Http)).Value("ingest_backlog_bytes");
        }

        return bytes;
    }

    private static async Task<bool> NoBacklogAsync(HttpClient client)
    {
        using var status = JsonDocument.Parse(await client.GetStringAsync("/v1/status"));
        return status.RootElement.GetProperty("silos").GetArrayLength() == 2
            && status.RootElement.GetProperty("topics").EnumerateArray().All(t => t.GetProperty("backlogBytes").GetInt64() == 0);
    }

    private Dictionary<string, string> Silo(string data)
    {
        var environment = _cluster.SiloEnvironment(data);
        environment["Kafka__ProducerSettings__reconnect.backoff.max.ms"] = "500";
        environment["Kafka__ProducerSettings__statistics.interval.ms"] = "1000"; // retransmissions are counted
        environment["Ingest__MaxSegmentBytes"] = "8192"; // constant rotation
        environment["Ingest__RetentionDays"] = "0";
        return environment;
    }
}

/// <summary>Twelve clients: single records and NDJSON batches, keyed and unkeyed, over the topics; remembers every 202.</summary>
internal sealed class MixedLoad : LoadClients
{
    private int _accepted;

    public MixedLoad(HttpClient http, IReadOnlyList<string> topics, ConcurrentDictionary<string, Ledger> ledgers)
    {
        Run(12, async c =>
        {
            // Paced: each client sends at most 40 requests a second, so a long soak stays inside the mock
            // broker's 5 MiB per partition (a pacing schedule, not a wait for an event).
            using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(25));
            for (var i = 0; !Stopping && await pace.WaitForNextTickAsync(); i++)
            {
                var topic = topics[(i + c) % topics.Count];
                var key = c % 3 == 0 ? null : $"k{c}-{i % 5}";
                try
                {
                    HttpStatusCode status;
                    int records;
                    if (c % 2 == 0)
                    {
                        status = await ledgers[topic].PostOne(http, topic, $"{topic}-c{c}-{i}", key, i);
                        records = 1;
                    }
                    else
                    {
                        var batch = Enumerable.Range(0, 10).Select(j => ($"{topic}-c{c}-{i}-{j}", i * 10 + j)).ToList();
                        status = await ledgers[topic].PostBatch(http, topic, batch, key);
                        records = batch.Count;
                    }

                    if (status == HttpStatusCode.Accepted)
                    {
                        Interlocked.Add(ref _accepted, records);
                    }
                    else if (status != HttpStatusCode.ServiceUnavailable)
                    {
                        Unexpected.Add($"{topic}: HTTP {(int)status}");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Unexpected.Add($"{topic}: {e.GetType().Name} {e.Message}");
                }
            }
        });
    }

    public ConcurrentBag<string> Unexpected { get; } = [];

    public int Accepted => Volatile.Read(ref _accepted);
}
