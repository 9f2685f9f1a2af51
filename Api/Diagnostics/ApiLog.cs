using Microsoft.Extensions.Logging;

namespace Ingest.Api.Diagnostics;

/// <summary>Event ids 2000-2999: the HTTP frontend.</summary>
internal enum ApiEventCode
{
    AppendCallFailed = 2000,
    RequestRejected = 2001,
    ClusterUnreachable = 2002,
    KeyOverRate = 2003,
    ConfigChanged = 2101,
}

internal static partial class ApiLog
{
    [LoggerMessage(EventId = (int)ApiEventCode.AppendCallFailed, Level = LogLevel.Warning,
        Message = "Append of {Records} record(s) to topic {Topic} failed; the requests got 503")]
    public static partial void AppendCallFailed(ILogger logger, Exception exception, string topic, int records);

    [LoggerMessage(EventId = (int)ApiEventCode.RequestRejected, Level = LogLevel.Debug,
        Message = "Request for topic {Topic} rejected with {Status}: {Detail}")]
    public static partial void RequestRejected(ILogger logger, string topic, int status, string detail);

    [LoggerMessage(EventId = (int)ApiEventCode.ClusterUnreachable, Level = LogLevel.Warning,
        Message = "No gateway reachable yet (attempt {Attempt}); retrying")]
    public static partial void ClusterUnreachable(ILogger logger, Exception exception, int attempt);

    [LoggerMessage(EventId = (int)ApiEventCode.KeyOverRate, Level = LogLevel.Debug,
        Message = "Request with key {Key} rejected with 429: over its rate limit on this frontend")]
    public static partial void KeyOverRate(ILogger logger, string key);
}
