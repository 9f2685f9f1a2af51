using System.Net;
using System.Runtime.InteropServices;

namespace Ingest.DevBroker;

/// <summary>
/// An in-memory Kafka cluster speaking the real wire protocol over TCP: librdkafka's mock cluster.
/// For development, the embedded default and tests only — it keeps about 5 MiB per partition and
/// evicts older data silently, has no duplicate suppression, and loses everything when the process
/// exits. With <c>basePort</c> &gt; 0, broker <c>i</c> is also reachable (and advertised) at
/// 127.0.0.1:(basePort + i - 1) through a TCP forwarder, so its address is fixed.
/// </summary>
public sealed class MockKafkaCluster : Ingest.Kafka.IDevelopmentBroker
{
    private readonly IntPtr _handle;
    private readonly IntPtr _cluster;
    private readonly List<TcpForwarder> _forwarders = [];
    private bool _disposed;

    private MockKafkaCluster(IntPtr handle, IntPtr cluster, int brokers)
    {
        _handle = handle;
        _cluster = cluster;
        Brokers = brokers;
        var raw = Marshal.PtrToStringUTF8(LibRdKafka.MockClusterBootstraps(cluster)) ?? string.Empty;
        BrokerEndpoints = raw.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(IPEndPoint.Parse).ToArray();
        BootstrapServers = raw;
    }

    /// <summary>The address clients give as <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; private set; }

    public int Brokers { get; }

    /// <summary>Where each broker (id 1..N) really listens.</summary>
    public IReadOnlyList<IPEndPoint> BrokerEndpoints { get; }

    /// <summary>Starts a cluster of <paramref name="brokers"/> brokers; see the class remarks for <paramref name="basePort"/>.</summary>
    /// <remarks>
    /// With <paramref name="listenAddress"/>, every broker is reached (and advertised) on that address through a
    /// forwarder, at <paramref name="basePort"/> + i − 1 or, with <paramref name="basePort"/> 0, a port of its own:
    /// for clients on other hosts (network namespaces of a test) that cannot reach this host's loopback.
    /// </remarks>
    public static MockKafkaCluster Start(int brokers = 1, int basePort = 0, IPAddress? listenAddress = null)
    {
        LibRdKafka.EnsureLoaded();
        var errors = Marshal.AllocHGlobal(512);
        try
        {
            var conf = LibRdKafka.ConfNew();
            // Keep the owning handle quiet: it only hosts the cluster.
            LibRdKafka.ConfSet(conf, "log_level", "3", errors, 512);
            var handle = LibRdKafka.New(LibRdKafka.RdKafkaProducer, conf, errors, 512);
            if (handle == IntPtr.Zero)
            {
                throw new InvalidOperationException("rd_kafka_new failed: " + Marshal.PtrToStringUTF8(errors));
            }

            var cluster = LibRdKafka.MockClusterNew(handle, brokers);
            if (cluster == IntPtr.Zero)
            {
                LibRdKafka.Destroy(handle);
                throw new InvalidOperationException("rd_kafka_mock_cluster_new failed");
            }

            var mock = new MockKafkaCluster(handle, cluster, brokers);
            LibRdKafka.MockGroupInitialRebalanceDelayMs(cluster, 0);
            if (basePort > 0 || listenAddress is not null)
            {
                try
                {
                    mock.ExposeThroughForwarders(listenAddress ?? IPAddress.Loopback, basePort);
                }
                catch
                {
                    mock.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    throw;
                }
            }

            return mock;
        }
        finally
        {
            Marshal.FreeHGlobal(errors);
        }
    }

    /// <summary>
    /// Throws <see cref="DevBrokerPortInUseException"/> if one of the fixed ports a cluster of
    /// <paramref name="brokers"/> at <paramref name="basePort"/> would take is in use now.
    /// </summary>
    public static void EnsurePortsFree(int basePort, int brokers)
    {
        for (var i = 0; i < brokers; i++)
        {
            TcpForwarder.Listen(new IPEndPoint(IPAddress.Loopback, basePort + i)).Stop();
        }
    }

    public void CreateTopic(string topic, int partitions)
    {
        var error = LibRdKafka.MockTopicCreate(_cluster, topic, partitions, Math.Min(Brokers, 3));
        // 36 = TOPIC_ALREADY_EXISTS: creating twice is not an error here.
        if (error != 0 && error != 36)
        {
            throw new InvalidOperationException($"rd_kafka_mock_topic_create({topic}) failed with error {error}");
        }
    }

    /// <summary>Takes broker <paramref name="brokerId"/> down (-1 = all): connections close, new ones are refused.</summary>
    public void SetBrokerDown(int brokerId = -1) => ForEachBroker(brokerId, id => LibRdKafka.MockBrokerSetDown(_cluster, id));

    public void SetBrokerUp(int brokerId = -1) => ForEachBroker(brokerId, id => LibRdKafka.MockBrokerSetUp(_cluster, id));

    /// <summary>Delays every response of broker <paramref name="brokerId"/> (-1 = all) by <paramref name="milliseconds"/>.</summary>
    public void SetRoundTripTime(int brokerId, int milliseconds) => ForEachBroker(brokerId, id => LibRdKafka.MockBrokerSetRtt(_cluster, id, milliseconds));

    /// <summary>Makes the next <paramref name="errors"/>.Length requests of <paramref name="apiKey"/> fail with these error codes.</summary>
    public void PushRequestErrors(KafkaApiKey apiKey, params int[] errors) =>
        LibRdKafka.MockPushRequestErrors(_cluster, (short)apiKey, (UIntPtr)errors.Length, errors);

    public void ClearRequestErrors(KafkaApiKey apiKey) => LibRdKafka.MockClearRequestErrors(_cluster, (short)apiKey);

    private void ForEachBroker(int brokerId, Func<int, int> action)
    {
        for (var id = brokerId == -1 ? 1 : brokerId; id <= (brokerId == -1 ? Brokers : brokerId); id++)
        {
            var error = action(id);
            if (error != 0)
            {
                throw new InvalidOperationException($"mock broker {id}: error {error}");
            }
        }
    }

    private void ExposeThroughForwarders(IPAddress address, int basePort)
    {
        var addresses = new List<string>();
        for (var i = 0; i < BrokerEndpoints.Count; i++)
        {
            var forwarder = new TcpForwarder(new IPEndPoint(address, basePort > 0 ? basePort + i : 0), BrokerEndpoints[i]);
            _forwarders.Add(forwarder);
            LibRdKafka.MockBrokerSetHostPort(_cluster, i + 1, address.ToString(), forwarder.Port);
            addresses.Add($"{address}:{forwarder.Port}");
        }

        BootstrapServers = string.Join(',', addresses);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var forwarder in _forwarders)
        {
            await forwarder.DisposeAsync();
        }

        // The cluster first, then the handle that owns it.
        LibRdKafka.MockClusterDestroy(_cluster);
        LibRdKafka.Destroy(_handle);
    }
}

/// <summary>Kafka protocol API keys used for fault injection.</summary>
public enum KafkaApiKey : short
{
    Produce = 0,
    Fetch = 1,
    Metadata = 3,
    InitProducerId = 22,
}

/// <summary>Kafka protocol error codes used for fault injection.</summary>
public static class KafkaErrorCode
{
    public const int NotLeaderForPartition = 6;
    public const int RequestTimedOut = 7;
    public const int NotEnoughReplicas = 19;
    public const int NetworkException = 13;
}
