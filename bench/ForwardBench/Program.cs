using Ingest.Configuration;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using Ingest.Diagnostics;
using Ingest.Forwarding;
using Ingest.Kafka;
using Ingest.DevBroker;
using Ingest.Options;
using Ingest.Records;
using Ingest.Segments;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

// Usage: ForwardBench [records=200000] [runs=3]
// Each run, against the same in-memory broker: (a) a plain Confluent.Kafka producer sends N records
// (the reference), (b) Ingest's forwarder (a TopicLog served by the ForwardingScheduler) ships the same N records from a sealed segment on disk,
// until its checkpoint passes the segment and the segment is deleted. Same producer settings
// (idempotent, acks=all, lz4, linger 5 ms). Prints records/s for both, the ratio, and medians.
var records = args.Length > 0 ? int.Parse(args[0]) : 200_000;
var runs = args.Length > 1 ? int.Parse(args[1]) : 3;
var value = Encoding.UTF8.GetBytes("{\"event\":\"page_view\",\"user\":\"u-0000000042\",\"page\":\"/products/1234\",\"ref\":\"https://example.com/search?q=shoes\",\"ua\":\"Mozilla/5.0 (X11; Linux x86_64)\",\"ts\":1763856000000,\"pad\":\"xxxxxxxxxxxxxxxxxxx\"}");

await using var broker = MockKafkaCluster.Start(brokers: 1);
var meters = new MeterFactory();
var plain = new List<double>();
var shipped = new List<double>();
Console.WriteLine($"forwarding benchmark: {records:N0} records of {value.Length} bytes per run, {runs} runs, broker {broker.BootstrapServers} (librdkafka mock, in memory)");
for (var run = 1; run <= runs; run++)
{
    var referenceTopic = $"plain-{run}";
    var ingestTopic = $"ingest-{run}";
    broker.CreateTopic(referenceTopic, 16);
    broker.CreateTopic(ingestTopic, 16);

    var reference = RunPlainProducer(broker.BootstrapServers, referenceTopic, value, records);
    var ours = await RunShipperAsync(broker, ingestTopic, value, records, meters);
    plain.Add(reference);
    shipped.Add(ours);
    Console.WriteLine($"run {run}: plain producer {reference:N0} rec/s | ingest forwarder {ours:N0} rec/s | ratio {ours / reference:F2}");
}

var medianPlain = Median(plain);
var medianShipped = Median(shipped);
var medianRatio = Median(plain.Zip(shipped, (p, s) => s / p).ToList());
Console.WriteLine($"median: plain producer {medianPlain:N0} rec/s | ingest forwarder {medianShipped:N0} rec/s | ratio {medianRatio:F2} (median of the per-run ratios; ratio of the medians {medianShipped / medianPlain:F2})");

static double RunPlainProducer(string bootstrap, string topic, byte[] value, int records)
{
    using var producer = new ProducerBuilder<byte[]?, byte[]>(Config(bootstrap)).Build();
    var delivered = 0;
    var failed = 0;
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < records; i++)
    {
        var message = new Message<byte[]?, byte[]>
        {
            Value = value.ToArray(),
            Timestamp = new Timestamp(DateTime.UtcNow),
            Headers = [new Header("ingest-time", Encoding.ASCII.GetBytes("1763856000000"))],
        };
        while (true)
        {
            try
            {
                producer.Produce(topic, message, report =>
                {
                    if (report.Error.IsError) { Interlocked.Increment(ref failed); } else { Interlocked.Increment(ref delivered); }
                });
                break;
            }
            catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(1));
            }
        }
    }

    producer.Flush(TimeSpan.FromMinutes(5));
    var seconds = clock.Elapsed.TotalSeconds;
    if (delivered != records || failed != 0)
    {
        throw new InvalidOperationException($"plain producer: {delivered} delivered, {failed} failed of {records}");
    }

    return records / seconds;
}

static async Task<double> RunShipperAsync(MockKafkaCluster broker, string topic, byte[] value, int records, IMeterFactory meters)
{
    var root = Path.Combine(Path.GetTempPath(), "ingest-forward-bench-" + Guid.NewGuid().ToString("N"));
    var directory = Path.Combine(root, "segments", topic);
    Directory.CreateDirectory(directory);
    try
    {
        // The records on disk, framed as the API frames them, in one sealed segment.
        var path = Path.Combine(directory, SegmentFile.FileName(1, SegmentFile.ActiveExtension));
        using (var segment = ActiveSegment.Create(path, 1763856000000, fsync: false))
        {
            var frame = new byte[RecordFrame.SizeOf(0, value.Length)];
            var chunk = new List<ReadOnlyMemory<byte>>();
            long bytes = 0;
            for (var i = 0; i < records; i++)
            {
                RecordFrame.Write(frame, 1763856000000 + i, [], false, value);
                chunk.Add(frame.ToArray());
                bytes += frame.Length;
                if (chunk.Count == 1000 || i == records - 1)
                {
                    segment.Append(chunk, bytes);
                    chunk.Clear();
                    bytes = 0;
                }
            }

            segment.Seal();
        }

        var kafka = Options.Create(new KafkaOptions());
        var config = new LiveConfig(new ClusterConfig { Kafka = new KafkaSettings { BootstrapServers = broker.BootstrapServers } });
        var instruments = new IngestInstruments(meters, new Ingest.Diagnostics.TopicLabels(config), new Ingest.Storage.DiskBudget(Options.Create(new Ingest.Options.IngestOptions()), TimeProvider.System), TimeProvider.System);
        await using var endpoint = new KafkaEndpoint(config, Options.Create(new DevKafkaOptions()), [], NullLogger<KafkaEndpoint>.Instance);
        endpoint.Start();
        using var producer = new KafkaProducerHost(config, endpoint, instruments, TimeProvider.System, NullLogger<KafkaProducerHost>.Instance);
        _ = producer.Producer; // connect before the clock starts, as the plain producer's Build does
        // The shipper retires the segment once every record in it is acknowledged (here: deletes it).
        var shipped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool Retire(string sealedSegment)
        {
            File.Delete(sealedSegment);
            shipped.TrySetResult();
            return true;
        }

        var context = new ShippingContext(
            new KafkaSender(producer, endpoint),
            new InFlightBudget(kafka.Value.MaxInFlightRecords, kafka.Value.MaxInFlightBytes), new InFlightPool(kafka.Value.MaxInFlightRecords),
            new ForwardingSettings(kafka.Value.CheckpointInterval, kafka.Value.MaxRetryBackoff, Fsync: false),
            instruments, NullLogger.Instance, TimeProvider.System);
        // As a silo's topic log: counted in the topic directory's audit, each record named by an ingest-id header.
        var audits = new Ingest.Audit.AuditBook(Options.Create(new Ingest.Options.IngestOptions()), TimeProvider.System);
        var progress = new TopicProgress(topic, null, countExisting: false, instruments)
        {
            Audit = audits.For(topic, directory),
            Identity = Ingest.Audit.RecordIdentity.Of("0123456789abcdef", topic),
        };
        var log = new TopicLog(topic, directory, () => topic, Retire, context, progress);
        var clock = Stopwatch.StartNew();
        await using var scheduler = new ForwardingScheduler(context);
        scheduler.Start();
        scheduler.Add(log);
        scheduler.Signal(log);
        await shipped.Task.WaitAsync(TimeSpan.FromMinutes(5));

        var seconds = clock.Elapsed.TotalSeconds;
        if (progress.ShippedRecords != records)
        {
            throw new InvalidOperationException($"forwarder shipped {progress.ShippedRecords} of {records}");
        }

        return records / seconds;
    }
    finally
    {
        Directory.Delete(root, recursive: true);
    }
}

static ProducerConfig Config(string bootstrap) => new()
{
    BootstrapServers = bootstrap,
    EnableIdempotence = true,
    Acks = Acks.All,
    CompressionType = CompressionType.Lz4,
    LingerMs = 5,
};

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}

internal sealed class MeterFactory : IMeterFactory
{
    public Meter Create(MeterOptions options) => new(options);

    public void Dispose()
    {
    }
}
