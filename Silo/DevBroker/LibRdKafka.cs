using System.Reflection;
using System.Runtime.InteropServices;

namespace Ingest.DevBroker;

/// <summary>
/// The few functions of librdkafka's mock cluster (rdkafka_mock.h) the development broker needs,
/// bound to the same copy of librdkafka that Confluent.Kafka loaded. Confluent picks the build that
/// loads on this OS (on Debian 12 it falls back to its centos8 build), so this code does not guess a
/// path: it lets Confluent load first, finds the mapped library in /proc/self/maps, and resolves
/// "librdkafka" to exactly that file. The mock API is experimental: the package version is pinned.
/// </summary>
internal static partial class LibRdKafka
{
    private const string Library = "librdkafka";
    private static readonly Lock Gate = new();
    private static string? _path;

    /// <summary>Loads librdkafka through Confluent.Kafka once and routes this assembly's imports to it.</summary>
    public static string EnsureLoaded()
    {
        lock (Gate)
        {
            if (_path is not null)
            {
                return _path;
            }

            _ = Confluent.Kafka.Library.Version; // makes Confluent.Kafka load its native library
            _path = File.ReadLines("/proc/self/maps")
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(fields => fields.Length >= 6 && Path.GetFileName(fields[5]).Contains("librdkafka", StringComparison.Ordinal))
                .Select(fields => fields[5])
                .FirstOrDefault()
                ?? throw new InvalidOperationException("librdkafka is not mapped into this process after Confluent.Kafka loaded it.");
            NativeLibrary.SetDllImportResolver(typeof(LibRdKafka).Assembly, Resolve);
            return _path;
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Library && _path is not null ? NativeLibrary.Load(_path) : IntPtr.Zero;

    public const int RdKafkaProducer = 0;

    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_new")]
    public static partial IntPtr ConfNew();

    [LibraryImport(Library, EntryPoint = "rd_kafka_conf_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ConfSet(IntPtr conf, string name, string value, IntPtr errstr, UIntPtr errstrSize);

    [LibraryImport(Library, EntryPoint = "rd_kafka_new")]
    public static partial IntPtr New(int type, IntPtr conf, IntPtr errstr, UIntPtr errstrSize);

    [LibraryImport(Library, EntryPoint = "rd_kafka_destroy")]
    public static partial void Destroy(IntPtr rk);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_new")]
    public static partial IntPtr MockClusterNew(IntPtr rk, int brokers);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_destroy")]
    public static partial void MockClusterDestroy(IntPtr cluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_cluster_bootstraps")]
    public static partial IntPtr MockClusterBootstraps(IntPtr cluster);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_topic_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MockTopicCreate(IntPtr cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_down")]
    public static partial int MockBrokerSetDown(IntPtr cluster, int brokerId);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_up")]
    public static partial int MockBrokerSetUp(IntPtr cluster, int brokerId);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_rtt")]
    public static partial int MockBrokerSetRtt(IntPtr cluster, int brokerId, int rttMs);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_broker_set_host_port", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void MockBrokerSetHostPort(IntPtr cluster, int brokerId, string host, int port);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_push_request_errors_array")]
    public static partial void MockPushRequestErrors(IntPtr cluster, short apiKey, UIntPtr count, [In] int[] errors);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_clear_request_errors")]
    public static partial void MockClearRequestErrors(IntPtr cluster, short apiKey);

    [LibraryImport(Library, EntryPoint = "rd_kafka_mock_group_initial_rebalance_delay_ms")]
    public static partial void MockGroupInitialRebalanceDelayMs(IntPtr cluster, int delayMs);
}
