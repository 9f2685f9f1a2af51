using Ingest.Diagnostics;
using Ingest.Kafka;
using Ingest.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Forwarding;

/// <summary>What every topic of the silo ships with: one producer, one budget, one pool of in-flight entries, one clock.</summary>
internal sealed class ShippingContext(
    IRecordSender sender,
    InFlightBudget budget,
    InFlightPool pool,
    ForwardingSettings settings,
    IngestInstruments instruments,
    ILogger logger,
    TimeProvider time)
{
    public IRecordSender Sender { get; } = sender;

    public InFlightBudget Budget { get; } = budget;

    public InFlightPool Pool { get; } = pool;

    public ForwardingSettings Settings { get; } = settings;

    public IngestInstruments Instruments { get; } = instruments;

    public ILogger Logger { get; } = logger;

    public TimeProvider Time { get; } = time;

    private bool _draining;
    private int _openReaders;

    /// <summary>Read handles open now, all topics (see <see cref="ForwardingSettings.MaxOpenReaders"/>).</summary>
    public int OpenReaders => Volatile.Read(ref _openReaders);

    public void ReaderOpened() => Interlocked.Increment(ref _openReaders);

    public void ReaderClosed() => Interlocked.Decrement(ref _openReaders);

    /// <summary>Set when forwarding stops: turns still take in reports and move checkpoints, but send nothing new.</summary>
    public bool Draining
    {
        get => Volatile.Read(ref _draining);
        set => Volatile.Write(ref _draining, value);
    }

    /// <summary>The silo's context, from <c>Kafka:*</c> and <c>Ingest:Durability</c>.</summary>
    public static ShippingContext Create(IServiceProvider services)
    {
        var kafka = services.GetRequiredService<IOptions<KafkaOptions>>().Value;
        var ingest = services.GetRequiredService<IOptions<IngestOptions>>().Value;
        var fsync = ingest.Durability == Durability.Fsync;
        return new ShippingContext(
            new KafkaSender(services.GetRequiredService<KafkaProducerHost>(), services.GetRequiredService<KafkaEndpoint>()),
            new InFlightBudget(kafka.MaxInFlightRecords, kafka.MaxInFlightBytes),
            new InFlightPool(kafka.MaxInFlightRecords),
            new ForwardingSettings(kafka.CheckpointInterval, kafka.MaxRetryBackoff, fsync) { IdleAfter = ingest.IdleTopicAfter },
            services.GetRequiredService<IngestInstruments>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Ingest.Forwarding"),
            services.GetRequiredService<TimeProvider>());
    }
}

/// <summary>The forwarding settings a topic needs while it ships (from <c>Kafka:*</c> and <c>Ingest:Durability</c>).</summary>
internal sealed record ForwardingSettings(TimeSpan CheckpointInterval, TimeSpan MaxRetryBackoff, bool Fsync)
{
    /// <summary>A topic that sent nothing for this long is idle (<c>Ingest:IdleTopicAfter</c>): see <see cref="ForwardingEngine"/>'s producer renewal.</summary>
    public TimeSpan IdleAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Idle topics known to the producer past which, with nothing in flight, it is renewed (librdkafka scans every topic it knows each second).</summary>
    public int RenewProducerAfterIdleTopics { get; init; } = 1000;

    /// <summary>Records one turn of a topic may send before the next ready topic is served: fairness, not a limit.</summary>
    public int RecordsPerTurn { get; init; } = 2048;

    /// <summary>Bytes one turn may send (the same fairness, for large records).</summary>
    public long BytesPerTurn { get; init; } = 1 << 20;

    /// <summary>A topic's read handle is closed once it has not been used for this long (descriptors follow active topics).</summary>
    public TimeSpan ReaderIdleClose { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Read handles the silo keeps open between turns; past it a log closes its handle when its turn ends
    /// (and opens it again at the next, a few µs). Bounds the forwarder's descriptors when many topics
    /// burst at once; the topic grains hold one per active topic besides.
    /// </summary>
    public int MaxOpenReaders { get; init; } = 1024;
}
