using Microsoft.Extensions.Options;

namespace Ingest.Options;

/// <summary>How far a record must have travelled before the API answers 202.</summary>
public enum Durability
{
    /// <summary>Written to the operating system (one write(2) per group commit): survives a process kill.</summary>
    Flush,

    /// <summary>Also fsync'd (file and, for new or renamed files, the directory): survives power loss.</summary>
    Fsync,
}

/// <summary>Storage settings of a silo, section <c>Ingest</c>.</summary>
public sealed class IngestOptions
{
    public const string SectionName = "Ingest";

    /// <summary>Where segments live. Relative paths are resolved against the working directory. Default <c>data</c>.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Default <see cref="Options.Durability.Flush"/>.</summary>
    public Durability Durability { get; set; } = Durability.Flush;

    /// <summary>
    /// Bytes the data directory may hold (active + unshipped + archived segments). Past it appends get
    /// 503 with Retry-After; nothing stored is dropped to make room. Default 10 GiB.
    /// </summary>
    public long MaxDiskBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>
    /// Free space the file system must keep, whatever <see cref="MaxDiskBytes"/> allows: a shared disk can
    /// fill up for other reasons. Default 64 MiB.
    /// </summary>
    public long MinFreeDiskBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// A segment is sealed once it holds this many bytes (checked after each commit), so shipped data
    /// can be deleted while a topic keeps writing. Default 128 MiB.
    /// </summary>
    public long MaxSegmentBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>
    /// A segment is sealed once its first record is this old (checked on append, by a grain timer at
    /// the deadline, and by the topic's reminder). Segments are also sealed when the UTC day changes,
    /// so a segment never spans two days. Default 1 hour.
    /// </summary>
    public TimeSpan RotateAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Period of each topic's rotation reminder: the durable check behind the grain timer. Orleans
    /// refuses periods under its <c>ReminderOptions.MinimumReminderPeriod</c> (1 minute). Default 1 minute.
    /// </summary>
    public TimeSpan RotationReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A topic grain with no append for this long seals its segment, closes its file and deactivates, so
    /// open files (and memory) follow the topics in use, not every topic ever seen; the next append opens a
    /// new segment. Shorter frees descriptors sooner; longer makes fewer, larger segments for sparse
    /// topics (a topic that gets a record every 10 minutes makes one segment per record at 5 minutes).
    /// Default 5 minutes.
    /// </summary>
    public TimeSpan IdleTopicAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Days a shipped segment is kept in <c>archive/&lt;yyyyMMdd&gt;/&lt;topic&gt;/</c> for replay: the
    /// archive of day D is deleted once the UTC date is past D + RetentionDays. 0 deletes a segment as
    /// soon as Kafka has acknowledged all of it. Default 7.
    /// </summary>
    public int RetentionDays { get; set; } = 7;

    /// <summary>
    /// How long a request's <c>Idempotency-Key</c> is remembered per topic (and producer key): a repeat within it
    /// gets the first answer again and stores nothing. Default 10 minutes.
    /// </summary>
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Most idempotency keys a silo remembers (~200 bytes each); past it the oldest are forgotten early (counted in
    /// <c>ingest_idempotency_forgotten_total</c>). Default 200,000 (~40 MiB).
    /// </summary>
    public int IdempotencyMaxKeys { get; set; } = 200_000;

    /// <summary>
    /// How long a <c>durability=kafka</c> request waits for Kafka's acknowledgement before it is answered 202 with the
    /// level the disk gave (its records ship later, as any). At most 30 seconds. Default 5 seconds.
    /// </summary>
    public TimeSpan KafkaAckWait { get; set; } = TimeSpan.FromSeconds(5);

    public string ResolveDataDirectory() => Path.GetFullPath(DataDirectory);
}

internal sealed class IngestOptionsValidator : IValidateOptions<IngestOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            errors.Add("Ingest:DataDirectory must name a directory.");
        }

        if (!Enum.IsDefined(options.Durability))
        {
            errors.Add("Ingest:Durability must be Flush or Fsync.");
        }

        if (options.MaxDiskBytes <= 0)
        {
            errors.Add($"Ingest:MaxDiskBytes must be positive (was {options.MaxDiskBytes}).");
        }

        if (options.MinFreeDiskBytes < 0)
        {
            errors.Add($"Ingest:MinFreeDiskBytes must not be negative (was {options.MinFreeDiskBytes}).");
        }

        if (options.MaxSegmentBytes < 4096)
        {
            errors.Add($"Ingest:MaxSegmentBytes must be at least 4096 (was {options.MaxSegmentBytes}).");
        }

        if (options.RotateAfter < TimeSpan.FromSeconds(1))
        {
            errors.Add($"Ingest:RotateAfter must be at least 1 second (was {options.RotateAfter}).");
        }

        if (options.RotationReminderPeriod < TimeSpan.FromSeconds(1))
        {
            errors.Add($"Ingest:RotationReminderPeriod must be at least 1 second (was {options.RotationReminderPeriod}).");
        }

        if (options.IdleTopicAfter < TimeSpan.FromSeconds(1))
        {
            errors.Add($"Ingest:IdleTopicAfter must be at least 1 second (was {options.IdleTopicAfter}).");
        }

        if (options.IdempotencyWindow < TimeSpan.FromSeconds(1) || options.IdempotencyWindow > TimeSpan.FromDays(1))
        {
            errors.Add($"Ingest:IdempotencyWindow must be between 1 second and 1 day (was {options.IdempotencyWindow}).");
        }

        if (options.KafkaAckWait <= TimeSpan.Zero || options.KafkaAckWait > TimeSpan.FromSeconds(30))
        {
            errors.Add($"Ingest:KafkaAckWait must be more than 0 and at most 30 seconds (was {options.KafkaAckWait}).");
        }

        if (options.IdempotencyMaxKeys < 100)
        {
            errors.Add($"Ingest:IdempotencyMaxKeys must be at least 100 (was {options.IdempotencyMaxKeys}).");
        }

        if (options.RetentionDays is < 0 or > 3650)
        {
            errors.Add($"Ingest:RetentionDays must be between 0 and 3650 (was {options.RetentionDays}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
