using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Process;

/// <summary>
/// A real cluster of separate processes on loopback: redis-server for membership and reminders, two
/// silo processes (each its own data directory) and one Api frontend, all shipping to one mock Kafka
/// cluster hosted by the test.
/// </summary>
[Collection(nameof(ProcessTests))]
public sealed class ClusterTests : IAsyncLifetime
{
    private static readonly string[] Topics = Enumerable.Range(0, 20).Select(i => $"spread-{i:D2}").ToArray();

    private ClusterBed _cluster = null!;

    public async ValueTask InitializeAsync() => _cluster = await ClusterBed.StartAsync("cluster", kafkaBrokers: 1, Topics, partitions: 2);

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task topics_spread_over_two_silos_a_sigkilled_silos_topics_accept_again_within_seconds_and_everything_reaches_kafka()
    {
        await using var siloA = HostProcess.Start("Silo", Silo(_cluster.DataA));
        await using var siloB = HostProcess.Start("Silo", Silo(_cluster.DataB));
        await using var api = HostProcess.Start("Api", Frontend());
        await ClusterBed.WaitForSilosAsync(2, siloA, siloB, api);
        using var client = ClientOf(api);

        await PostFirstRecordsAsync(client);

        // Orleans placed the topic grains on both silos: each wrote its topics' segments to its own disk.
        var onA = Topics.Where(t => Directory.Exists(Path.Combine(_cluster.DataA, "segments", t))).ToList();
        var onB = Topics.Where(t => Directory.Exists(Path.Combine(_cluster.DataB, "segments", t))).ToList();
        Assert.True(onA.Count > 0 && onB.Count > 0, $"topics should spread over both silos: A has [{string.Join(',', onA)}], B has [{string.Join(',', onB)}]");
        Assert.Empty(onA.Intersect(onB));

        await using (var load = new TopicLoad(client, Topics, _cluster.Ledgers))
        {
            await Poll.Until(() => load.Accepted > 400, TimeSpan.FromSeconds(30), "400 records accepted through the Api before the kill");
            var killedAt = Stopwatch.GetTimestamp();
            await siloB.KillAsync();
            await siloB.DisposeAsync();

            // Every topic, including those that lived on B, accepts again through the Api within seconds.
            await Poll.Until(() => Topics.All(t => load.LastAccepted(t) > killedAt), TimeSpan.FromSeconds(20),
                $"every topic to get a 202 after the kill of silo B (topics of B: {string.Join(',', onB)})");
            var recoveredIn = Stopwatch.GetElapsedTime(killedAt);
            TestContext.Current.SendDiagnosticMessage($"every topic accepted again {recoveredIn.TotalSeconds:F1} s after the SIGKILL; {load.Accepted} records accepted");
            Assert.True(recoveredIn < TimeSpan.FromSeconds(15), $"all topics should accept again within ~10 s, took {recoveredIn}");
            await load.StopAsync();

            Assert.Empty(load.Unexpected); // only 202 and 503, and no request outlived the client's timeout
            Assert.True(load.Accepted > 400);
        }

        // B's topics now live on A.
        Assert.All(onB, t => Assert.True(Directory.Exists(Path.Combine(_cluster.DataA, "segments", t)), $"{t} should have re-activated on silo A"));

        // B's unshipped segments ship when B comes back on its own data directory.
        await using var siloBAgain = HostProcess.Start("Silo", Silo(_cluster.DataB));
        await siloBAgain.WaitReadyAsync();
        AssertEveryRecordDelivered(siloA, siloBAgain);
    }

    [Fact]
    public async Task a_silo_stopped_with_sigterm_under_load_loses_nothing_and_clients_see_only_202_or_503()
    {
        await using var siloA = HostProcess.Start("Silo", Silo(_cluster.DataA));
        await using var siloB = HostProcess.Start("Silo", Silo(_cluster.DataB));
        await using var api = HostProcess.Start("Api", Frontend());
        await ClusterBed.WaitForSilosAsync(2, siloA, siloB, api);
        using var client = ClientOf(api);

        await using (var load = new TopicLoad(client, Topics, _cluster.Ledgers))
        {
            await Poll.Until(() => load.Accepted > 400, TimeSpan.FromSeconds(30), "400 records accepted through the Api before SIGTERM");
            var stoppedAt = Stopwatch.GetTimestamp();
            await siloB.TerminateAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, siloB.ExitCode);
            await Poll.Until(() => Topics.All(t => load.LastAccepted(t) > stoppedAt), TimeSpan.FromSeconds(20), "every topic to get a 202 after silo B stopped");
            await load.StopAsync();

            Assert.Empty(load.Unexpected); // no 500, no hang: only 202 and 503
        }

        Assert.Contains("Shutdown requested", siloB.Output);
        Assert.Contains("Silo leaving the cluster", siloB.Output);
        await siloB.DisposeAsync();

        // Whatever B had not shipped yet is on its disk, and ships when it is back.
        await using var siloBAgain = HostProcess.Start("Silo", Silo(_cluster.DataB));
        await siloBAgain.WaitReadyAsync();
        AssertEveryRecordDelivered(siloA, siloBAgain);
    }

    [Fact]
    public async Task a_silo_drained_under_load_hands_its_topics_over_ships_everything_and_gets_no_new_topic_until_taken_back()
    {
        var drainOnShutdown = Silo(_cluster.DataA);
        drainOnShutdown["Cluster__DrainOnShutdown"] = "true"; // for the SIGTERM at the end; the admin drain does not need it
        await using var siloA = HostProcess.Start("Silo", drainOnShutdown);
        await using var siloB = HostProcess.Start("Silo", Silo(_cluster.DataB));
        await using var api = HostProcess.Start("Api", Frontend());
        await ClusterBed.WaitForSilosAsync(2, siloA, siloB, api);
        using var client = ClientOf(api);
        await PostFirstRecordsAsync(client);

        var onA = Topics.Where(t => Directory.Exists(Path.Combine(_cluster.DataA, "segments", t))).ToList();
        Assert.NotEmpty(onA);
        string a;
        await using (var load = new TopicLoad(client, Topics, _cluster.Ledgers))
        {
            await Poll.Until(() => load.Accepted > 400, TimeSpan.FromSeconds(30), "400 records accepted through the Api before the drain");
            var drain = await siloA.Http.PostAsync("/v1/admin/nodes/self/drain", null);
            Assert.Equal(HttpStatusCode.Accepted, drain.StatusCode);
            a = JsonDocument.Parse(await drain.Content.ReadAsStringAsync()).RootElement.GetProperty("silo").GetString()!;
            var drainedAt = Stopwatch.GetTimestamp();

            await Poll.Until(async () => (await siloA.Http.GetAsync("/readyz")).StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(10), "silo A to report not ready once drained");
            var state = string.Empty;
            await Poll.Until(async () => (state = await StateOf(client, a)) == "drained", TimeSpan.FromSeconds(60), () => $"silo A to be drained; /v1/status says {state}");
            await Poll.Until(() => Topics.All(t => load.LastAccepted(t) > drainedAt), TimeSpan.FromSeconds(20), "every topic, those of A too, to get a 202 after the drain");
            await load.StopAsync();
            Assert.Empty(load.Unexpected); // only 202 and 503
        }

        // A holds nothing unshipped, and no topic (old or new) activated on it again.
        var leftOnA = UnshippedOn(_cluster.DataA);
        Assert.True(leftOnA.Count == 0, "a drained silo holds no unshipped segment: " + string.Join(", ", leftOnA)
            + "\nsilo A said: " + string.Join("\n", siloA.Output.Split('\n').Where(l => l.Contains("rain", StringComparison.Ordinal) || l.Contains("Segment created", StringComparison.OrdinalIgnoreCase) || l.Contains("SegmentCreated", StringComparison.Ordinal)).TakeLast(40)));
        var fresh = Enumerable.Range(0, 12).Select(i => $"after-drain-{i}").ToList();
        foreach (var topic in fresh)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/v1/topics/{topic}", new StringContent("{}"))).StatusCode);
        }

        Assert.All(fresh, t => Assert.False(Directory.Exists(Path.Combine(_cluster.DataA, "segments", t)), $"{t} should not activate on the drained silo A"));
        Assert.All(onA, t => Assert.True(Directory.Exists(Path.Combine(_cluster.DataB, "segments", t)), $"{t}, which lived on A, should have moved to B"));

        // Taken back, A is ready again and gets new topics.
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync($"/v1/admin/nodes/{Uri.EscapeDataString(a)}/drain")).StatusCode);
        await Poll.Until(async () => (await siloA.Http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(10), "silo A to be ready again once taken back");
        Assert.Equal("serving", await StateOf(client, a));
        var later = Enumerable.Range(0, 12).Select(i => $"after-undrain-{i}").ToList();
        foreach (var topic in later)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/v1/topics/{topic}", new StringContent("{}"))).StatusCode);
        }

        Assert.Contains(later, t => Directory.Exists(Path.Combine(_cluster.DataA, "segments", t)));
        AssertEveryRecordDelivered(siloA, siloB);

        // With Cluster:DrainOnShutdown, a SIGTERM drains first: A stops with its new topics handed over and its disk shipped.
        Assert.NotEmpty(UnshippedOn(_cluster.DataA));
        await siloA.TerminateAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, siloA.ExitCode);
        Assert.True(siloA.Output.Contains("Stopping: drain ended drained", StringComparison.Ordinal), "A drained before it stopped; its log ends: " + string.Join("\n", siloA.Output.Split('\n').TakeLast(30)));
        Assert.Empty(UnshippedOn(_cluster.DataA));
    }

    private static List<string> UnshippedOn(string data) =>
        [.. Directory.GetFiles(Path.Combine(data, "segments"), "*", SearchOption.AllDirectories).Where(f => f.EndsWith(".active", StringComparison.Ordinal) || f.EndsWith(".seg", StringComparison.Ordinal))];

    /// <summary>One record to each topic, so every topic grain is placed (spread over the silos).</summary>
    private async Task PostFirstRecordsAsync(HttpClient client)
    {
        foreach (var topic in Topics)
        {
            Assert.Equal(HttpStatusCode.Accepted, await _cluster.Ledgers[topic].PostOne(client, topic, $"{topic}-first", null, 0));
        }
    }

    private static async Task<string> StateOf(HttpClient client, string silo)
    {
        using var status = JsonDocument.Parse(await client.GetStringAsync("/v1/status"));
        return status.RootElement.GetProperty("silos").EnumerateArray().Where(s => s.GetProperty("silo").GetString() == silo)
            .Select(s => s.GetProperty("state").GetString() + (s.TryGetProperty("waiting", out var w) && w.ValueKind == JsonValueKind.String ? $" ({w.GetString()})" : string.Empty))
            .FirstOrDefault() ?? "(not listed)";
    }

    private void AssertEveryRecordDelivered(params HostProcess[] silos)
    {
        foreach (var topic in Topics)
        {
            try
            {
                _cluster.Ledgers[topic].ReadAndAssertDelivered(_cluster.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(90), keyOrder: false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                var files = string.Join("\n", _cluster.DataDirectories
                    .SelectMany(root => Directory.Exists(root) ? Directory.GetFiles(root, "*", SearchOption.AllDirectories) : [])
                    .Where(path => path.Contains(topic, StringComparison.Ordinal))
                    .Select(path => $"{path} ({new FileInfo(path).Length} bytes)"));
                var logs = string.Join("\n---\n", silos.Select(s => string.Join("\n", s.Output.Split('\n').Where(l => l.Contains(topic, StringComparison.Ordinal) || l.Contains("Kafka", StringComparison.Ordinal)).TakeLast(40))));
                var partitions = string.Join(", ", KafkaTestClient.ReadAll(_cluster.Kafka.BootstrapServers, topic, int.MaxValue, TimeSpan.FromSeconds(5)).GroupBy(m => m.Partition).Select(g => $"p{g.Key}: {g.Count()}"));
                logs = $"in Kafka by partition: {partitions}\n" + logs;
                throw new Xunit.Sdk.XunitException($"{e.Message}\nfiles of {topic}:\n{files}\nsilo log lines about {topic}:\n{logs}");
            }
        }
    }

    [Fact]
    public async Task a_silo_whose_redis_is_gone_still_stops_on_sigterm_within_its_shutdown_timeout()
    {
        var environment = Silo(_cluster.DataA);
        environment["Cluster__ShutdownTimeout"] = "00:00:05";
        await using var silo = HostProcess.Start("Silo", environment);
        await silo.WaitReadyAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync("/v1/topics/before-redis-dies", new StringContent("{}"))).StatusCode);

        await _cluster.Redis.DisposeAsync(); // the membership store is gone
        var stopping = Stopwatch.StartNew();
        await silo.TerminateAsync(TimeSpan.FromSeconds(30));

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(20), $"the silo should exit soon after its 5 s shutdown timeout, took {stopping.Elapsed}");
        Assert.Equal(3, silo.ExitCode);
        Assert.Contains("Graceful shutdown did not finish within Cluster:ShutdownTimeout", silo.Output);
        Assert.Single(StoredRecords.Read(_cluster.DataA, "before-redis-dies")); // the acknowledged record is on disk
    }

    /// <summary>A client with a timeout: a request outliving it counts as a hang.</summary>
    private static HttpClient ClientOf(HostProcess api) => new() { BaseAddress = api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };

    private Dictionary<string, string> Silo(string data) => _cluster.SiloEnvironment(data);

    private Dictionary<string, string> Frontend() => _cluster.FrontendEnvironment();
}

/// <summary>Eight clients posting round-robin over topics until stopped; tracks outcomes per topic.</summary>
internal sealed class TopicLoad : LoadClients
{
    private readonly ConcurrentDictionary<string, long> _lastAccepted = new();
    private int _accepted;

    public TopicLoad(HttpClient http, IReadOnlyList<string> topics, ConcurrentDictionary<string, Ledger> ledgers, int clients = 8)
    {
        Run(clients, async c =>
        {
            for (var i = 0; !Stopping; i++)
            {
                var topic = topics[(i + c) % topics.Count];
                try
                {
                    // When the request was sent: a 202 for a request sent before a kill may come from the killed silo.
                    var sent = Stopwatch.GetTimestamp();
                    var status = await ledgers[topic].PostOne(http, topic, $"{topic}-c{c}-{i}", null, i);
                    if (status == HttpStatusCode.Accepted)
                    {
                        Interlocked.Increment(ref _accepted);
                        _lastAccepted.AddOrUpdate(topic, sent, (_, last) => Math.Max(last, sent));
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

    /// <summary>When the last request of <paramref name="topic"/> that got a 202 was sent (<see cref="Stopwatch"/> ticks).</summary>
    public long LastAccepted(string topic) => _lastAccepted.TryGetValue(topic, out var at) ? at : 0;
}
