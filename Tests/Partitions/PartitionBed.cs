using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Partitions;

/// <summary>
/// Two silos and an Api frontend on hosts of their own (<see cref="TestNetwork"/>: namespaces "a", "b" and
/// "api"), Redis and the development broker on the root side at the network's gateway, and a ledger per
/// topic. Each silo advertises its own address; every process serves HTTP on port 8080 of its host.
/// </summary>
internal sealed class PartitionBed : IAsyncDisposable
{
    public const int HttpPort = 8080;

    private readonly Dictionary<string, TempDirectory> _data = [];
    private readonly List<(string Name, HostProcess Process)> _processes = [];

    private PartitionBed(TestNetwork network, RedisServer redis, MockKafkaCluster kafka, string[] topics, int partitions)
    {
        Network = network;
        Redis = redis;
        Kafka = kafka;
        Topics = topics;
        ClusterId = $"part-{Guid.NewGuid():N}"[..14];
        foreach (var topic in topics)
        {
            kafka.CreateTopic(topic, partitions);
            Ledgers[topic] = new Ledger();
        }
    }

    public TestNetwork Network { get; }

    public RedisServer Redis { get; }

    public MockKafkaCluster Kafka { get; }

    public string[] Topics { get; }

    public string ClusterId { get; }

    public ConcurrentDictionary<string, Ledger> Ledgers { get; } = new();

    public static async Task<PartitionBed> StartAsync(int topics, int partitions = 1)
    {
        var network = await TestNetwork.CreateAsync("a", "b", "api");
        try
        {
            var redis = await RedisServer.StartAsync(network.Gateway);
            var kafka = MockKafkaCluster.Start(brokers: 1, listenAddress: network.Gateway);
            return new PartitionBed(network, redis, kafka, Enumerable.Range(0, topics).Select(i => $"part-{i}").ToArray(), partitions);
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts (or restarts, on the same data directory) the silo on host <paramref name="name"/>.</summary>
    public HostProcess StartSilo(string name)
    {
        var host = Network[name];
        var data = _data.TryGetValue(name, out var directory) ? directory : _data[name] = new TempDirectory($"ingest-part-{name}");
        var environment = Process.SiloEnvironment.InRedisCluster(data.Path, Redis.ConnectionString, ClusterId);
        environment["Cluster__AdvertisedAddress"] = host.Address.ToString();
        environment["Cluster__SiloPort"] = "11111";
        environment["Cluster__GatewayPort"] = "30000";
        environment["Kafka__Enabled"] = "true";
        environment["Kafka__BootstrapServers"] = Kafka.BootstrapServers;
        var process = HostProcess.Start("Silo", environment, HttpPort, host: host);
        _processes.Add(($"silo-{name}", process));
        return process;
    }

    /// <summary>Starts silos "a" and "b" and the frontend, and waits until each sees two active silos.</summary>
    public async Task<(HostProcess A, HostProcess B, HostProcess Api)> StartClusterAsync()
    {
        var a = StartSilo("a");
        var b = StartSilo("b");
        var api = StartApi();
        await Process.ClusterBed.WaitForSilosAsync(2, a, b, api);
        return (a, b, api);
    }

    /// <summary>A client of <paramref name="api"/> that gives up after 10 s: a request outliving it got no answer.</summary>
    public static HttpClient ClientOf(HostProcess api) => new() { BaseAddress = api.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };

    public HostProcess StartApi()
    {
        var process = HostProcess.Start("Api", Process.SiloEnvironment.FrontendOf(Redis.ConnectionString, ClusterId), HttpPort, host: Network["api"]);
        _processes.Add(("api", process));
        return process;
    }

    /// <summary>
    /// GET <paramref name="path"/> on host <paramref name="name"/>'s own address from inside its namespace (it
    /// answers there while cut off from everyone else). Returns the status and body, or null with no answer
    /// within <paramref name="timeoutSeconds"/>.
    /// </summary>
    public (int Status, string Body)? GetInside(string name, string path, int timeoutSeconds = 5) => CurlInside(name, path, timeoutSeconds);

    /// <summary>POSTs one JSON record to <paramref name="path"/> on host <paramref name="name"/>'s own address, from inside its namespace.</summary>
    public (int Status, string Body)? PostInside(string name, string path, string json, int timeoutSeconds = 10) =>
        CurlInside(name, path, timeoutSeconds, "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", json);

    private (int Status, string Body)? CurlInside(string name, string path, int timeoutSeconds, params string[] options) =>
        CurlFrom(name, $"http://{Network[name].Address}:{HttpPort}{path}", timeoutSeconds, options);

    /// <summary>Runs curl for <paramref name="url"/> inside host <paramref name="name"/>'s namespace: status and body, or null without an answer.</summary>
    public (int Status, string Body)? CurlFrom(string name, string url, int timeoutSeconds, params string[] options)
    {
        var host = Network[name];
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "netns", "exec", host.Namespace, "curl", "-s", "-m", timeoutSeconds.ToString(), "-w", "\n%{http_code}" }
            .Concat(options).Append(url))
        {
            start.ArgumentList.Add(argument);
        }

        using var curl = System.Diagnostics.Process.Start(start)!;
        var output = curl.StandardOutput.ReadToEnd();
        curl.WaitForExit();
        var lines = output.TrimEnd().Split('\n');
        return curl.ExitCode == 0 && int.TryParse(lines[^1], out var status) && status > 0 ? (status, string.Join('\n', lines[..^1])) : null;
    }

    /// <summary>The number of active silos a process reports on /readyz, or null when it does not answer.</summary>
    public static async Task<int?> ActiveSilos(HostProcess process)
    {
        try
        {
            using var body = JsonDocument.Parse(await process.Http.GetStringAsync("/readyz"));
            return body.RootElement.TryGetProperty("silos", out var silos) && silos.ValueKind == JsonValueKind.Number ? silos.GetInt32() : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>A sum of samples of <paramref name="metric"/> on the <c>/metrics</c> of the silo on host <paramref name="name"/>.</summary>
    public async Task<double> MetricOf(string name, string metric, params (string Key, string Value)[] labels)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://{Network[name].Address}:{HttpPort}"), Timeout = TimeSpan.FromSeconds(5) };
        return (await PrometheusText.ScrapeAsync(http)).Value(metric, labels);
    }

    /// <summary>How many of its membership checks the silo on host <paramref name="name"/> has counted with <paramref name="outcome"/>.</summary>
    public Task<double> MembershipChecks(string name, string outcome) => MetricOf(name, "ingest_membership_checks_total", ("outcome", outcome));

    /// <summary>Records on the disk of the silo on host <paramref name="name"/> not yet acknowledged by Kafka.</summary>
    public Task<double> Backlog(string name) => MetricOf(name, "ingest_backlog_records");

    /// <summary>The port of the development broker (one broker), for a rule that cuts a host off from it.</summary>
    public int BrokerPort => int.Parse(Kafka.BootstrapServers.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Host <paramref name="name"/>'s data directory.</summary>
    public string DataOf(string name) => _data[name].Path;

    /// <summary>Every record of <paramref name="topic"/> a silo stored (segments and archive), by ingest time.</summary>
    public List<StoredRecord> StoredBy(string name, string topic) =>
        StoredRecords.Read(DataOf(name), topic).Concat(StoredRecords.ReadArchive(DataOf(name), topic)).OrderBy(r => r.TimestampMs).ToList();

    /// <summary>
    /// How long two silos both took writes for <paramref name="topic"/>, in ms: at every handover (the next record
    /// was stored by the other silo), the time until the previous silo's last record of the following 10 s.
    /// 0 when every handover was clean. Reads both silos' segments and archives.
    /// </summary>
    public long TwoWriterMs(string topic, params string[] silos)
    {
        var records = silos.SelectMany(silo => StoredBy(silo, topic).Select(r => (Silo: silo, r.TimestampMs))).OrderBy(r => r.TimestampMs).ToList();
        var both = new List<(long From, long To)>();
        for (var i = 1; i < records.Count; i++)
        {
            if (records[i].Silo == records[i - 1].Silo)
            {
                continue;
            }

            var handover = records[i].TimestampMs;
            var previous = records[i - 1].Silo;
            var lastOfPrevious = records.Skip(i).TakeWhile(r => r.TimestampMs <= handover + 10_000).Where(r => r.Silo == previous).Select(r => r.TimestampMs).DefaultIfEmpty(handover).Max();
            if (lastOfPrevious > handover)
            {
                both.Add((handover, lastOfPrevious));
            }
        }

        // The union of those intervals: interleaved writes are counted once.
        long total = 0, end = long.MinValue;
        foreach (var (from, to) in both.OrderBy(b => b.From))
        {
            total += Math.Max(0, to - Math.Max(from, end));
            end = Math.Max(end, to);
        }

        return total;
    }

    public async ValueTask DisposeAsync()
    {
        // Every process's output goes with the test's result, passed or failed.
        var started = new Dictionary<string, int>();
        foreach (var (name, process) in _processes)
        {
            await process.DisposeAsync();
            started[name] = started.GetValueOrDefault(name) + 1;
            TestContext.Current.AddAttachment($"{name}-{started[name]}", process.Output);
        }

        await Kafka.DisposeAsync();
        await Redis.DisposeAsync();
        await Network.DisposeAsync();
        foreach (var directory in _data.Values)
        {
            directory.Dispose();
        }
    }
}
