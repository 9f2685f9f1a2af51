using Ingest.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ingest.Kafka;

/// <summary>Event ids 1300-1399: Kafka and forwarding.</summary>
internal static partial class KafkaLog
{
    [LoggerMessage(EventId = (int)IngestEventCode.UsingBrokers, Level = LogLevel.Information, Message = "Shipping to Kafka at {BootstrapServers}")]
    public static partial void UsingBrokers(ILogger logger, string bootstrapServers);

    [LoggerMessage(EventId = (int)IngestEventCode.DevBrokerStarted, Level = LogLevel.Information, Message =
        "\n*** DEVELOPMENT KAFKA BROKER: no Kafka brokers configured (kafka.bootstrapServers), so records ship to an IN-MEMORY broker at {BootstrapServers}. ***\n" +
        "*** It keeps ~5 MiB per partition and loses everything when this process stops. Configure Kafka:BootstrapServers for real use. ***\n" +
        "*** Consume with any Kafka client, e.g.: kcat -b {BootstrapServers} -C -t <topic> ***")]
    public static partial void DevBrokerStarted(ILogger logger, string bootstrapServers);

    [LoggerMessage(EventId = (int)IngestEventCode.ProducerError, Level = LogLevel.Error, Message = "Kafka producer error {Code}: {Reason} (fatal: {Fatal})")]
    public static partial void ProducerError(ILogger logger, string code, string reason, bool fatal);

    [LoggerMessage(EventId = (int)IngestEventCode.ProducerRebuilt, Level = LogLevel.Warning, Message = "Kafka producer rebuilt after {Reason} (generation {Generation}); forwarders resume from their checkpoints")]
    public static partial void ProducerRebuilt(ILogger logger, int generation, string reason);

    [LoggerMessage(EventId = (int)IngestEventCode.ProducerRenewed, Level = LogLevel.Information, Message = "Kafka producer renewed (generation {Generation}): {Reason}; the new one knows only the topics used from now on")]
    public static partial void ProducerRenewed(ILogger logger, int generation, string reason);

    [LoggerMessage(EventId = (int)IngestEventCode.ProducerBuildFailed, Level = LogLevel.Error, Message = "Cannot build a Kafka producer from the new settings; the producer of generation {Generation} stays in use")]
    public static partial void ProducerBuildFailed(ILogger logger, Exception exception, int generation);

    [LoggerMessage(EventId = (int)IngestEventCode.DeliveryFailed, Level = LogLevel.Warning, Message = "Topic {Topic}: delivery to Kafka topic {KafkaTopic} failed ({Error}); retrying from the checkpoint {Segment}:{Offset} in {BackoffMs} ms")]
    public static partial void DeliveryFailed(ILogger logger, string topic, string kafkaTopic, string error, long segment, long offset, long backoffMs);

    [LoggerMessage(EventId = (int)IngestEventCode.ProducerSwitched, Level = LogLevel.Information, Message = "Topic {Topic}: the Kafka producer was replaced; sending again from the checkpoint {Segment}:{Offset} with the new one")]
    public static partial void ProducerSwitched(ILogger logger, string topic, long segment, long offset);

    // Debug: the archive logs where the segment went (or that it was deleted) at Information.
    [LoggerMessage(EventId = (int)IngestEventCode.SegmentShipped, Level = LogLevel.Debug, Message = "Topic {Topic}: every record of segment {Segment} is acknowledged by Kafka; the segment is retired")]
    public static partial void SegmentShipped(ILogger logger, string topic, string segment);

    [LoggerMessage(EventId = (int)IngestEventCode.Resuming, Level = LogLevel.Debug, Message = "Topic {Topic}: resuming from checkpoint {Segment}:{Offset}")]
    public static partial void Resuming(ILogger logger, string topic, long segment, long offset);

    [LoggerMessage(EventId = (int)IngestEventCode.SealedSegmentCorrupt, Level = LogLevel.Error, Message = "Topic {Topic}: sealed segment {Path} has a corrupt record at offset {Offset}; the {Bytes} bytes from there were copied to {QuarantinePath} and are not shipped")]
    public static partial void SealedSegmentCorrupt(ILogger logger, string topic, string path, long offset, long bytes, string quarantinePath);

    [LoggerMessage(EventId = (int)IngestEventCode.CheckpointUnreadable, Level = LogLevel.Error, Message = "Topic {Topic}: checkpoint {Path} is unreadable; shipping again from the oldest segment on disk (duplicates, no loss)")]
    public static partial void CheckpointUnreadable(ILogger logger, string topic, string path);

    [LoggerMessage(EventId = (int)IngestEventCode.ForwardingTurnFailed, Level = LogLevel.Error, Message = "Topic {Topic}: a forwarding turn failed; the topic gets its next turn in 1 s")]
    public static partial void TurnFailed(ILogger logger, Exception exception, string topic);
}
