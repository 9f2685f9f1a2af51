using Confluent.Kafka;
using Ingest.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Kafka;

/// <summary>
/// The one Kafka producer of this process, built from configuration: idempotent, <c>acks=all</c>,
/// lz4 by default, batching from <c>Kafka:ProducerSettings</c>. A fatal error (<c>IsFatal</c>) rebuilds it
/// and bumps <see cref="Generation"/>, which tells every forwarder to resume from its checkpoint.
/// </summary>
internal sealed class KafkaProducerHost(
    IOptions<KafkaOptions> options,
    KafkaEndpoint endpoint,
    IngestInstruments instruments,
    ILogger<KafkaProducerHost> logger) : IDisposable
{
    private readonly Lock _gate = new();
    private IProducer<byte[]?, byte[]>? _producer;
    private int _generation;

    public int Generation => Volatile.Read(ref _generation);

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
                return _producer ??= Build();
            }
        }
    }

    internal ProducerConfig BuildConfig()
    {
        var config = new ProducerConfig(new Dictionary<string, string>(options.Value.ProducerSettings))
        {
            BootstrapServers = endpoint.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
        };
        config.CompressionType ??= CompressionType.Lz4;
        // Never give up on a message: librdkafka retries in order (idempotence) through any outage, and
        // the forwarder's window bounds what waits. A finite timeout is allowed; expiries are resent
        // from the checkpoint (at-least-once still, but per-key order may then break).
        config.MessageTimeoutMs ??= 0;
        config.LingerMs ??= 5;
        config.StatisticsIntervalMs ??= 1000;
        config.ClientId ??= "ingest-" + Environment.MachineName;
        return config;
    }

    private IProducer<byte[]?, byte[]> Build() =>
        new ProducerBuilder<byte[]?, byte[]>(BuildConfig())
            .SetErrorHandler(OnError)
            .SetStatisticsHandler((_, json) => instruments.RecordProducerStatistics(json))
            .SetLogHandler((_, message) =>
            {
                if (message.Level <= SyslogLevel.Warning)
                {
                    KafkaLog.ProducerError(logger, message.Facility, message.Message, false);
                }
            })
            .Build();

    private void OnError(IProducer<byte[]?, byte[]> producer, Error error)
    {
        KafkaLog.ProducerError(logger, error.Code.ToString(), error.Reason, error.IsFatal);
        if (!error.IsFatal)
        {
            return;
        }

        // Called on librdkafka's thread: replace the producer elsewhere.
        _ = Task.Run(() => Rebuild(producer));
    }

    private void Rebuild(IProducer<byte[]?, byte[]> broken)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_producer, broken))
            {
                return;
            }

            _producer = Build();
            var generation = Interlocked.Increment(ref _generation);
            KafkaLog.ProducerRebuilt(logger, generation);
        }

        broken.Dispose();
    }

    /// <summary>Waits up to <paramref name="timeout"/> for messages in flight to be delivered (shutdown).</summary>
    public void Flush(TimeSpan timeout) => Volatile.Read(ref _producer)?.Flush(timeout);

    public void Dispose() => Volatile.Read(ref _producer)?.Dispose();
}
