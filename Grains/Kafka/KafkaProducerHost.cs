using Confluent.Kafka;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ingest.Kafka;

/// <summary>
/// The one Kafka producer of this process, built from the cluster configuration's <c>kafka</c> section:
/// idempotent, <c>acks=all</c>, lz4 by default. It is replaced, and <see cref="Generation"/> bumped, when
/// the brokers or producer settings change, or after a fatal error (<c>IsFatal</c>). A bump tells every
/// forwarder to let its reports in flight come in and resend from its checkpoint on the new producer;
/// the old producer gets <see cref="RetireGrace"/> to deliver what it holds, then whatever is left
/// fails back to those forwarders. So nothing accepted is lost in a swap; some records may be sent twice.
/// </summary>
internal sealed class KafkaProducerHost : IDisposable
{
    /// <summary>How long a replaced producer may keep delivering before what it still holds is purged and resent.</summary>
    public static readonly TimeSpan RetireGrace = TimeSpan.FromSeconds(5);

    private readonly LiveConfig _config;
    private readonly KafkaEndpoint _endpoint;
    private readonly IngestInstruments _instruments;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly IDisposable _subscription;
    private IProducer<byte[]?, byte[]>? _producer;
    private KafkaSettings? _builtFrom;
    private int _generation;

    public KafkaProducerHost(LiveConfig config, KafkaEndpoint endpoint, IngestInstruments instruments, TimeProvider time, ILogger<KafkaProducerHost> logger)
    {
        _time = time;
        _config = config;
        _endpoint = endpoint;
        _instruments = instruments;
        _logger = logger;
        _subscription = config.Subscribe(OnConfigChanged);
    }

    public int Generation => Volatile.Read(ref _generation);

    /// <summary>Raised after the producer was replaced (<see cref="Generation"/> is the new one), off the caller's thread.</summary>
    public event Action? Replaced;

    public IProducer<byte[]?, byte[]> Producer
    {
        get
        {
            var producer = Volatile.Read(ref _producer);
            if (producer is not null)
            {
                return producer;
            }

            lock (_gate)
            {
                if (_producer is null)
                {
                    _builtFrom = _config.Current.Kafka;
                    _producer = Build(_builtFrom);
                    Volatile.Write(ref _builtAt, _time.GetTimestamp());
                }

                return _producer;
            }
        }
    }

    internal ProducerConfig BuildConfig(KafkaSettings settings)
    {
        var config = new ProducerConfig(new Dictionary<string, string>(settings.ProducerSettings))
        {
            BootstrapServers = _endpoint.BootstrapServersFor(settings),
            EnableIdempotence = true,
            Acks = Acks.All,
        };
        config.CompressionType ??= CompressionType.Lz4;
        // Never give up on a message: librdkafka retries in order (idempotence) through any outage, and
        // the forwarder's window bounds what waits. A finite timeout is allowed; expiries are resent
        // from the checkpoint (at-least-once still, but per-key order may then break).
        config.MessageTimeoutMs ??= 0;
        config.LingerMs ??= 5;
        // librdkafka's statistics (the only source of ingest.kafka.messages_transmitted) describe every topic and
        // partition the producer knows: at 1,000 topics, once a second, they cost ~30 ms of CPU per second and
        // ~60 MB. Off unless Kafka:ProducerSettings:statistics.interval.ms asks for them.
        config.StatisticsIntervalMs ??= 0;
        // A delivery report needs its error, partition and offset only: by default Confluent.Kafka copies the key, the
        // value and every header back into managed memory for each report (measured: most of what a second header cost).
        config.DeliveryReportFields ??= "status";
        config.ClientId ??= "ingest-" + Environment.MachineName;
        return config;
    }

    private IProducer<byte[]?, byte[]> Build(KafkaSettings settings) =>
        new ProducerBuilder<byte[]?, byte[]>(BuildConfig(settings))
            .SetErrorHandler(OnError)
            .SetStatisticsHandler((_, json) => _instruments.RecordProducerStatistics(json))
            .SetLogHandler((_, message) =>
            {
                if (message.Level <= SyslogLevel.Warning)
                {
                    KafkaLog.ProducerError(_logger, message.Facility, message.Message, false);
                }
            })
            .Build();

    private void OnConfigChanged(ClusterConfig config)
    {
        var built = Volatile.Read(ref _builtFrom);
        if (built is not null && !built.SameProducerAs(config.Kafka))
        {
            // Called under the configuration's lock: build the new producer elsewhere.
            _ = Task.Run(() => Replace(null, "the Kafka settings changed"));
        }
    }

    private string? _lastError;
    private long _lastErrorMs;

    /// <summary>
    /// "up" while deliveries succeed (or nothing failed in the last 30 s), else "degraded" with the last
    /// producer error: Kafka trouble is reported, but ingestion stays ready — the disk absorbs it.
    /// </summary>
    public (string State, string? Error) State()
    {
        var errorMs = Volatile.Read(ref _lastErrorMs);
        if (errorMs == 0 || _instruments.LastShippedMs > errorMs || _time.GetUtcNow().ToUnixTimeMilliseconds() - errorMs > 30_000)
        {
            return ("up", null);
        }

        return ("degraded", Volatile.Read(ref _lastError));
    }

    private void OnError(IProducer<byte[]?, byte[]> producer, Error error)
    {
        KafkaLog.ProducerError(_logger, error.Code.ToString(), error.Reason, error.IsFatal);
        Volatile.Write(ref _lastError, $"{error.Code}: {error.Reason}");
        Volatile.Write(ref _lastErrorMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
        if (error.IsFatal)
        {
            // Called on librdkafka's thread: replace the producer elsewhere.
            _ = Task.Run(() => Replace(producer, "a fatal producer error"));
        }
    }

    /// <summary>
    /// Replaces the producer with a fresh one from the same settings: librdkafka keeps every topic a
    /// producer ever sent to and scans them all every second, so when most of them went idle a new
    /// producer, which knows only the topics used from then on, is what lets their cost go. The caller
    /// makes sure nothing is in flight (then nothing is resent).
    /// </summary>
    public void Renew(string reason) => Replace(null, reason, force: true);

    /// <summary>When the producer in use was built (a timestamp of the host's clock).</summary>
    public long BuiltAt => Volatile.Read(ref _builtAt);

    private long _builtAt;

    /// <summary>Replaces the producer (only if it is still <paramref name="expected"/>, when given) with one built from the current settings.</summary>
    private void Replace(IProducer<byte[]?, byte[]>? expected, string reason, bool force = false)
    {
        IProducer<byte[]?, byte[]>? old;
        lock (_gate)
        {
            var settings = _config.Current.Kafka;
            if (_producer is null || (expected is not null && !ReferenceEquals(_producer, expected))
                || (expected is null && !force && _builtFrom!.SameProducerAs(settings)))
            {
                return;
            }

            IProducer<byte[]?, byte[]> replacement;
            try
            {
                replacement = Build(settings);
            }
            catch (Exception e) when (e is KafkaException or ArgumentException or InvalidOperationException)
            {
                KafkaLog.ProducerBuildFailed(_logger, e, _generation);
                return;
            }

            old = _producer;
            _producer = replacement;
            Volatile.Write(ref _builtFrom, settings);
            Volatile.Write(ref _builtAt, _time.GetTimestamp());
            var generation = Interlocked.Increment(ref _generation);
            if (force)
            {
                KafkaLog.ProducerRenewed(_logger, generation, reason);
            }
            else
            {
                KafkaLog.ProducerRebuilt(_logger, generation, reason);
            }
        }

        Replaced?.Invoke();
        Retire(old);
    }

    /// <summary>
    /// Lets a replaced producer deliver for up to <see cref="RetireGrace"/>, then disposes of it. Records it
    /// still held never report; their forwarders stop waiting for them and resend from the checkpoint.
    /// </summary>
    private static void Retire(IProducer<byte[]?, byte[]> old)
    {
        try
        {
            old.Flush(RetireGrace);
        }
        catch (KafkaException)
        {
            // A broken producer may refuse to flush; what it held is resent all the same.
        }
        finally
        {
            old.Dispose();
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for messages in flight to be delivered (shutdown).</summary>
    public void Flush(TimeSpan timeout) => Volatile.Read(ref _producer)?.Flush(timeout);

    public void Dispose()
    {
        _subscription.Dispose();
        Volatile.Read(ref _producer)?.Dispose();
    }
}
