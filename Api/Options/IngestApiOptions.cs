using Microsoft.Extensions.Options;

namespace Ingest.Api.Options;

/// <summary>Frontend limits, section <c>Ingest</c> (the same section as the silo's storage settings).</summary>
public sealed class IngestApiOptions
{
    public const string SectionName = "Ingest";

    /// <summary>Largest record (key + value) accepted; bigger gets 413. Default 1 MiB; at most 64 MiB.</summary>
    public int MaxRecordBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Largest request body, counted on the wire and again after gzip decompression (a gzip bomb stops
    /// here); bigger gets 413. Default 16 MiB.
    /// </summary>
    public int MaxRequestBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Target size of one grain call. Records of concurrent requests for a topic are packed into one
    /// call up to this size: bigger amortises the call, smaller cuts latency. Default 1 MiB.
    /// </summary>
    public int MaxCallBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Framed bytes that may wait in this frontend for one topic (queued behind the call in flight).
    /// Past it, requests get 503 at once instead of queuing: memory stays bounded under overload. Default 64 MiB.
    /// </summary>
    public long MaxPendingBytesPerTopic { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Ingest requests this node works on at once; more get 503 immediately (load shedding). Memory
    /// held by requests is at most this many bodies. Default 1024.
    /// </summary>
    public int MaxConcurrentRequests { get; set; } = 1024;

    /// <summary>Check that every NDJSON line is one JSON value (not only valid UTF-8). Default true.</summary>
    public bool ValidateNdjsonLines { get; set; } = true;

    /// <summary>Seconds a client is told to wait (Retry-After) on a 503. Default 1.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>
    /// How long a silo lets a <c>durability=kafka</c> request wait for Kafka (the silo's setting of the same name): this
    /// frontend answers such requests within <c>Cluster:ResponseTimeout</c> plus this.
    /// </summary>
    public TimeSpan KafkaAckWait { get; set; } = TimeSpan.FromSeconds(5);

    // Ingest:Shards:<topic> and Ingest:Topics:<topic>:* seed the cluster configuration (ConfigSeed); frontends
    // route by the cluster's copy, the same on every node.
}

internal sealed class IngestApiOptionsValidator : IValidateOptions<IngestApiOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestApiOptions options)
    {
        var errors = new List<string>();
        if (options.MaxRecordBytes is <= 0 or > 64 * 1024 * 1024)
        {
            errors.Add($"Ingest:MaxRecordBytes must be between 1 and 67108864 (was {options.MaxRecordBytes}).");
        }

        if (options.MaxRequestBytes < options.MaxRecordBytes)
        {
            errors.Add($"Ingest:MaxRequestBytes ({options.MaxRequestBytes}) must be at least Ingest:MaxRecordBytes ({options.MaxRecordBytes}).");
        }

        if (options.MaxCallBytes <= 0)
        {
            errors.Add($"Ingest:MaxCallBytes must be positive (was {options.MaxCallBytes}).");
        }

        if (options.MaxPendingBytesPerTopic < options.MaxRequestBytes)
        {
            errors.Add($"Ingest:MaxPendingBytesPerTopic ({options.MaxPendingBytesPerTopic}) must be at least Ingest:MaxRequestBytes ({options.MaxRequestBytes}).");
        }

        if (options.MaxConcurrentRequests <= 0)
        {
            errors.Add($"Ingest:MaxConcurrentRequests must be positive (was {options.MaxConcurrentRequests}).");
        }

        if (options.RetryAfterSeconds is < 1 or > 3600)
        {
            errors.Add($"Ingest:RetryAfterSeconds must be between 1 and 3600 (was {options.RetryAfterSeconds}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
