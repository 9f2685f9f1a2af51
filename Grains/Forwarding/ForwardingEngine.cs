using System.Collections.Concurrent;
using Ingest.Diagnostics;
using Ingest.Kafka;
using Ingest.Options;
using Ingest.Storage;
using Ingest.Topics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Forwarding;

/// <summary>Told by a topic grain that records were appended or a segment sealed.</summary>
internal interface IAppendListener
{
    void OnAppended(string topic);
}

/// <summary>
/// One <see cref="TopicShipper"/> per topic directory of this silo's data directory, started for
/// every directory found at start (leftovers from earlier runs or from topic grains that moved away)
/// and for every topic that appends later. Owned by the silo's <see cref="ForwarderGrain"/>.
/// </summary>
internal sealed class ForwardingEngine(
    SegmentStore store,
    KafkaEndpoint endpoint,
    KafkaProducerHost producer,
    IOptions<KafkaOptions> kafka,
    IOptions<IngestOptions> ingest,
    DiskBudget budget,
    IngestInstruments instruments,
    ILoggerFactory loggers,
    TimeProvider time) : IAppendListener, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TopicShipper> _shippers = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger("Ingest.Forwarding");
    private volatile bool _running;

    public void Start()
    {
        if (_running)
        {
            return;
        }

        endpoint.Start();
        _running = true;
        Rescan();
    }

    /// <summary>Starts shippers for topic directories not yet shipped and wakes all (a safety net behind the append signals).</summary>
    public void Rescan()
    {
        if (!_running)
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories(store.SegmentsRoot))
        {
            var topic = Path.GetFileName(directory);
            if (TopicName.IsValid(topic))
            {
                ShipperFor(topic).Wake();
            }
        }
    }

    public void OnAppended(string topic)
    {
        if (_running)
        {
            ShipperFor(topic).Wake();
        }
    }

    public IReadOnlyList<TopicForwardingStatus> Status() =>
        _shippers.Values.Select(s => s.Status()).OrderBy(s => s.Topic, StringComparer.Ordinal).ToList();

    /// <summary>
    /// Stops every shipper (each lets its reports in flight arrive for up to <paramref name="grace"/>, then
    /// persists its checkpoint) and forgets them, so a later <see cref="Start"/> begins afresh from the checkpoints.
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        _running = false;
        var stopping = _shippers.Values.ToList();
        _shippers.Clear();
        await Task.WhenAll(stopping.Select(s => s.StopAsync(grace)));
        foreach (var shipper in stopping)
        {
            await shipper.DisposeAsync();
        }

        producer.Flush(TimeSpan.FromSeconds(1));
    }

    private TopicShipper ShipperFor(string topic) =>
        _shippers.TryGetValue(topic, out var shipper) ? shipper : _shippers.GetOrAdd(topic, Create);

    private TopicShipper Create(string topic)
    {
        var shipper = new TopicShipper(
            topic,
            Path.Combine(store.SegmentsRoot, topic),
            producer,
            endpoint,
            kafka.Value,
            budget,
            ingest.Value.Durability == Durability.Fsync,
            instruments,
            _logger,
            time);
        shipper.Start();
        return shipper;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var shipper in _shippers.Values)
        {
            await shipper.DisposeAsync();
        }

        _shippers.Clear();
    }
}
