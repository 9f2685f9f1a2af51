using System.Collections.Concurrent;
using System.Text.Json;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Process;

/// <summary>
/// What a test of a real two-silo cluster needs around its processes: a redis-server for membership,
/// reminders and grain storage, a cluster id of its own, a data directory per silo, and, when asked
/// for, a mock Kafka cluster with the test's topics and a ledger per topic. The test starts and kills
/// the processes itself (<see cref="HostProcess"/>) with the environments built here.
/// </summary>
internal sealed class ClusterBed : IAsyncDisposable
{
    private readonly TempDirectory _dataA;
    private readonly TempDirectory _dataB;
    private readonly MockKafkaCluster? _kafka;

    private ClusterBed(string name, RedisServer redis, MockKafkaCluster? kafka)
    {
        ClusterId = $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];
        Redis = redis;
        _kafka = kafka;
        _dataA = new TempDirectory($"ingest-{name}-a");
        _dataB = new TempDirectory($"ingest-{name}-b");
    }

    public string ClusterId { get; }

    public RedisServer Redis { get; }

    public MockKafkaCluster Kafka => _kafka ?? throw new InvalidOperationException("this cluster was started without Kafka");

    /// <summary>Silo A's data directory.</summary>
    public string DataA => _dataA.Path;

    /// <summary>Silo B's data directory.</summary>
    public string DataB => _dataB.Path;

    public string[] DataDirectories => [DataA, DataB];

    /// <summary>What the load generators got a 202 for, per topic.</summary>
    public ConcurrentDictionary<string, Ledger> Ledgers { get; } = new();

    /// <summary>
    /// Starts redis-server and, when <paramref name="kafkaBrokers"/> &gt; 0, a mock Kafka cluster with each of
    /// <paramref name="topics"/> created with <paramref name="partitions"/> partitions and given a ledger.
    /// </summary>
    public static async Task<ClusterBed> StartAsync(string name, int kafkaBrokers = 0, IEnumerable<string>? topics = null, int partitions = 1)
    {
        var redis = await RedisServer.StartAsync();
        var kafka = kafkaBrokers > 0 ? MockKafkaCluster.Start(brokers: kafkaBrokers) : null;
        var bed = new ClusterBed(name, redis, kafka);
        foreach (var topic in topics ?? [])
        {
            kafka?.CreateTopic(topic, partitions);
            bed.Ledgers[topic] = new Ledger();
        }

        return bed;
    }

    /// <summary>A silo process of this cluster on <paramref name="dataDirectory"/>, shipping to the mock Kafka cluster if there is one.</summary>
    public Dictionary<string, string> SiloEnvironment(string dataDirectory)
    {
        var environment = Process.SiloEnvironment.InRedisCluster(dataDirectory, Redis.ConnectionString, ClusterId);
        if (_kafka is not null)
        {
            environment["Kafka__Enabled"] = "true";
            environment["Kafka__BootstrapServers"] = _kafka.BootstrapServers;
        }

        return environment;
    }

    /// <summary>An Api frontend process of this cluster.</summary>
    public Dictionary<string, string> FrontendEnvironment() => Process.SiloEnvironment.FrontendOf(Redis.ConnectionString, ClusterId);

    /// <summary>
/// Waits until every process is ready and its view of the cluster (the "silos" of /readyz) holds <paramref name="count"/>
/// active silos, and every silo can place topics on all of them ("placesOn").
/// </summary>
    public static async Task WaitForSilosAsync(int count, params HostProcess[] processes)
    {
        await Task.WhenAll(processes.Select(p => p.WaitReadyAsync()));
        await Poll.Until(
            async () =>
            {
                foreach (var process in processes)
                {
                    using var body = JsonDocument.Parse(await process.Http.GetStringAsync("/readyz"));
                    if (!body.RootElement.TryGetProperty("silos", out var silos) || silos.ValueKind != JsonValueKind.Number || silos.GetInt32() != count)
                    {
                        return false;
                    }

                    // A silo places new topics only on the silos whose manifest it has: until then, topics first written pile onto the others.
                    if (body.RootElement.TryGetProperty("placesOn", out var placesOn) && placesOn.ValueKind == JsonValueKind.Number && placesOn.GetInt32() != count)
                    {
                        return false;
                    }
                }

                return true;
            },
            TimeSpan.FromSeconds(60),
            $"every process to see {count} active silos on /readyz (and every silo to place on {count})");
    }

    public async ValueTask DisposeAsync()
    {
        if (_kafka is not null)
        {
            await _kafka.DisposeAsync();
        }

        await Redis.DisposeAsync();
        _dataA.Dispose();
        _dataB.Dispose();
    }
}
