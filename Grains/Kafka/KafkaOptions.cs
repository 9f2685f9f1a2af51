using Ingest.Topics;
using Microsoft.Extensions.Options;

namespace Ingest.Kafka;

/// <summary>How this silo forwards, section <c>Kafka</c> (where records go is the cluster configuration's <c>kafka</c>).</summary>
public sealed class KafkaOptions
{
    public const string SectionName = "Kafka";

    /// <summary>
    /// Ship to Kafka. <c>false</c> = store only: records stay on disk, nothing is shipped or deleted
    /// (maintenance, or keeping a node's data for a later start). Default true.
    /// </summary>
    public bool Enabled { get; set; } = true;

    // Kafka:BootstrapServers, Kafka:ProducerSettings:* and Kafka:Topics:* are not options of this class: they
    // seed the cluster configuration (ConfigSeed), which is what the running code reads, and are checked
    // at start by the cluster configuration's rules (ConfigRules), like any later change.

    /// <summary>
    /// Records this silo's forwarding may have sent and not yet checkpointed, over all its topics. Bounds the
    /// memory held whatever the backlog and the number of topics, and the duplicates a crash can cause. Default 20,000.
    /// </summary>
    public int MaxInFlightRecords { get; set; } = 20_000;

    /// <summary>Value and key bytes this silo's forwarding may have sent and not yet had acknowledged, over all its topics. Default 16 MiB.</summary>
    public long MaxInFlightBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>How often the shipped position is persisted while records flow. Default 200 ms.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest wait between attempts after a delivery error (the wait doubles from 100 ms). Default 5 s.</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>The in-memory development broker, section <c>DevKafka</c>; used only when <c>Kafka:BootstrapServers</c> is empty.</summary>
public sealed class DevKafkaOptions
{
    public const string SectionName = "DevKafka";

    /// <summary>
    /// Whether this node may start the development broker when no Kafka brokers are configured. The
    /// deployment files set <c>false</c>: a production node without <c>Kafka:BootstrapServers</c> then
    /// refuses to start instead of shipping to memory. Default true (the single-machine default).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Fixed port of broker 1 (broker i listens on Port + i - 1). 0 = random ports. Default 19092.</summary>
    public int Port { get; set; } = 19092;

    /// <summary>Brokers in the development cluster. Default 1.</summary>
    public int Brokers { get; set; } = 1;

    /// <summary>Partitions of each topic the forwarder creates there (each keeps only ~5 MiB). Default 8.</summary>
    public int Partitions { get; set; } = 8;
}

internal sealed class KafkaOptionsValidator : IValidateOptions<KafkaOptions>
{

    public ValidateOptionsResult Validate(string? name, KafkaOptions options)
    {
        var errors = new List<string>();
        if (options.MaxInFlightRecords <= 0)
        {
            errors.Add($"Kafka:MaxInFlightRecords must be positive (was {options.MaxInFlightRecords}).");
        }

        if (options.MaxInFlightBytes <= 0)
        {
            errors.Add($"Kafka:MaxInFlightBytes must be positive (was {options.MaxInFlightBytes}).");
        }

        if (options.CheckpointInterval <= TimeSpan.Zero || options.MaxRetryBackoff <= TimeSpan.Zero)
        {
            errors.Add("Kafka:CheckpointInterval and Kafka:MaxRetryBackoff must be positive.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class DevKafkaOptionsValidator : IValidateOptions<DevKafkaOptions>
{
    public ValidateOptionsResult Validate(string? name, DevKafkaOptions options)
    {
        var errors = new List<string>();
        if (options.Port is < 0 or > 65535)
        {
            errors.Add($"DevKafka:Port must be a TCP port or 0 (was {options.Port}).");
        }

        if (options.Brokers is < 1 or > 9)
        {
            errors.Add($"DevKafka:Brokers must be between 1 and 9 (was {options.Brokers}).");
        }

        if (options.Partitions is < 1 or > 1000)
        {
            errors.Add($"DevKafka:Partitions must be between 1 and 1000 (was {options.Partitions}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
