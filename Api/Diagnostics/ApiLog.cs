using Microsoft.Extensions.Logging;

namespace Ingest.Api.Diagnostics;

/// <summary>The HTTP frontend's log lines (event ids 2000-2099 in <see cref="IngestEventCode"/>).</summary>
internal static partial class ApiLog
{
    [LoggerMessage(EventId = (int)IngestEventCode.AppendCallFailed, Level = LogLevel.Warning,
        Message = "Append of {Records} record(s) to topic {Topic} failed; the requests got 503")]
    public static partial void AppendCallFailed(ILogger logger, Exception exception, string topic, int records);

    [LoggerMessage(EventId = (int)IngestEventCode.RequestRejected, Level = LogLevel.Debug,
        Message = "Request for topic {Topic} rejected with {Status}: {Detail}")]
    public static partial void RequestRejected(ILogger logger, string topic, int status, string detail);

    [LoggerMessage(EventId = (int)IngestEventCode.ClusterUnreachable, Level = LogLevel.Warning,
        Message = "No gateway reachable yet (attempt {Attempt}); retrying")]
    public static partial void ClusterUnreachable(ILogger logger, Exception exception, int attempt);

    [LoggerMessage(EventId = (int)IngestEventCode.KeyOverRate, Level = LogLevel.Debug,
        Message = "Request with key {Key} rejected with 429: over its rate limit on this frontend")]
    public static partial void KeyOverRate(ILogger logger, string key);
}
