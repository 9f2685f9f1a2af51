using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Ingest.Api.Access;
using Ingest.Api.Appending;
using Ingest.Api.Diagnostics;
using Ingest.Api.Options;
using Ingest.Api.Parsing;
using Ingest.Diagnostics;
using Ingest.Records;
using Ingest.Topics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Http;

/// <summary>An ingest request that may go on: its topic, how the topic is written, its key and the producer key's grant.</summary>
internal readonly record struct Admitted(string Topic, TopicRoute Route, KeyGrant? Grant, ReadOnlyMemory<byte> Key, bool HasKey);

/// <summary>
/// The steps before a body is read: the node's concurrency gate, the topic name, access (configuration
/// received, producer key, allow-list, the key's topics) and the record key; after the body, the key's
/// rate limit. Each refusal is a <see cref="Rejection"/> with the headers it needs already set.
/// </summary>
internal sealed class RequestAdmission(AccessControl access, BrowserRequests browsers, RequestGate gate, IOptions<IngestApiOptions> options, ILogger<RequestAdmission> logger)
{
    private readonly string _retryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
    private readonly int _maxConcurrentRequests = options.Value.MaxConcurrentRequests;

    /// <summary>Enters the node's gate (<c>Ingest:MaxConcurrentRequests</c>); false = refuse at once.</summary>
    public bool TryEnter() => gate.TryEnter();

    public void Exit() => gate.Exit();

    public string GateClosedDetail => $"this node already works on Ingest:MaxConcurrentRequests={_maxConcurrentRequests} requests";

    /// <summary>Topic, access and key of a request; null when it may go on, else why not.</summary>
    public Rejection? Admit(HttpContext context, out Admitted admitted)
    {
        admitted = default;
        var topic = context.Request.RouteValues["topic"] as string ?? string.Empty;
        if (!TopicName.IsValid(topic))
        {
            return new Rejection(StatusCodes.Status400BadRequest, "Invalid topic name",
                "A topic name is 1 to 249 characters of [A-Za-z0-9._-], and not '.' or '..'.");
        }

        browsers.Expose(context);
        if (!TryAuthorize(context, topic, out var route, out var grant, out var denied))
        {
            return denied;
        }

        if (browsers.Check(context, grant) is { } foreign)
        {
            ApiLog.RequestRejected(logger, topic, foreign.Status, foreign.Title);
            return foreign;
        }

        if (KeyOf(context, route, out var key) is { } keyProblem)
        {
            return keyProblem;
        }

        admitted = new Admitted(topic, route, grant, key, key is not null);
        return null;
    }

    /// <summary>Takes the request's records and bytes from its key's rate limit, if it has one; else 429 with Retry-After.</summary>
    public Rejection? TakeRate(HttpContext context, KeyGrant? grant, int records, long bytes)
    {
        if (grant?.Limiter is not { } limiter || limiter.TryTake(records, bytes, out var wait))
        {
            return null;
        }

        var seconds = (int)Math.Clamp(Math.Ceiling(wait.TotalSeconds), 1, 3600);
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        ApiLog.KeyOverRate(logger, grant.Name);
        return new Rejection(StatusCodes.Status429TooManyRequests, "Rate limit exceeded",
            $"Key '{grant.Name}' is over its rate limit on this frontend; retry after {seconds} s. Nothing of this request was stored.");
    }

    /// <summary>The configuration is here, the key (if keys are on) is known and enabled, and it may write the topic.</summary>
    private bool TryAuthorize(HttpContext context, string topic, [NotNullWhen(true)] out TopicRoute? route, out KeyGrant? grant, [NotNullWhen(false)] out Rejection? rejection)
    {
        var denial = access.Check(context.Request, topic, out route, out grant);
        if (denial == AccessDenial.None && route is not null)
        {
            rejection = null;
            return true;
        }

        rejection = denial switch
        {
            AccessDenial.NotConfigured => new(StatusCodes.Status503ServiceUnavailable, "Configuration not loaded",
                "This node has not received the cluster's configuration yet. Nothing was stored; retry later."),
            AccessDenial.MissingKey => new(StatusCodes.Status401Unauthorized, "API key required",
                "Send a producer key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'."),
            AccessDenial.UnknownKey => new(StatusCodes.Status401Unauthorized, "API key not accepted",
                "The key is unknown, revoked or disabled."),
            AccessDenial.TopicNotListed => new(StatusCodes.Status403Forbidden, "Topic not allowed",
                $"Topic '{topic}' is not on this cluster's allow-list."),
            AccessDenial.KeyInUrlNotBrowserKey => new(StatusCodes.Status401Unauthorized, "API key not accepted in the URL",
                "Only a browser key (one with origins) may be sent as ?apiKey=; send this key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'."),
            _ => new(StatusCodes.Status403Forbidden, "Topic not allowed for this key",
                $"Key '{grant!.Name}' may not write topic '{topic}'."),
        };
        if (rejection.Status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }
        else if (rejection.Status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = _retryAfter;
        }

        ApiLog.RequestRejected(logger, topic, rejection.Status, rejection.Title);
        return false;
    }

    /// <summary>
    /// The frame headers the request's records carry: its idempotency key (<c>Idempotency-Key</c> header, or
    /// <c>idempotencyKey=</c> for senders that cannot set headers, such as <c>navigator.sendBeacon</c>) and its trace
    /// context (<see cref="TraceParentOf"/>); null headers when it has neither, a rejection when the key is not valid.
    /// </summary>
    public static Rejection? HeadersOf(HttpContext context, KeyGrant? grant, bool batch, out RequestHeaders? headers)
    {
        headers = null;
        if (IdempotencyKeyOf(context.Request, out var key) is { } invalid)
        {
            return invalid;
        }

        var traceParent = TraceParentOf(context);
        if (key is not null || traceParent is not null)
        {
            headers = new RequestHeaders(key, key is null ? null : grant?.Name, traceParent, indexed: batch);
        }

        return null;
    }

    /// <summary>
    /// The trace context to keep with the records: the request's own span when Ingest records it (tracing on and
    /// sampled), else the caller's valid <c>traceparent</c> header as sent (so a consumer continues the producer's
    /// trace even when Ingest does not trace), else none. An invalid header is ignored, as W3C Trace Context says.
    /// </summary>
    public static string? TraceParentOf(HttpContext context)
    {
        if (IngestTracing.TraceParentOf(IngestTracing.RecordedRequestSpan) is { } own)
        {
            return own;
        }

        return context.Request.Headers.TryGetValue(FrameHeaders.TraceParent, out var sent) && sent.Count == 1 && sent[0] is { } value && IngestTracing.IsTraceParent(value)
            ? value
            : null;
    }

    private static Rejection? IdempotencyKeyOf(HttpRequest request, out string? key)
    {
        key = null;
        if (request.Headers.TryGetValue(IdempotencyKeyHeader, out var fromHeader) && fromHeader.Count > 0)
        {
            if (fromHeader.Count > 1)
            {
                return new Rejection(StatusCodes.Status400BadRequest, "Invalid Idempotency-Key", "Send at most one Idempotency-Key.");
            }

            key = fromHeader[0];
        }
        else if (request.QueryString.HasValue && request.Query.TryGetValue("idempotencyKey", out var fromQuery) && fromQuery.Count > 0)
        {
            key = fromQuery.Count == 1 ? fromQuery[0] : null;
            if (key is null)
            {
                return new Rejection(StatusCodes.Status400BadRequest, "Invalid Idempotency-Key", "Give at most one idempotencyKey= parameter.");
            }
        }

        if (key is null)
        {
            return null;
        }

        // A structured-field string ("…") as the IETF draft writes it, or the bare token most clients send.
        if (key.Length >= 2 && key[0] == '"' && key[^1] == '"')
        {
            key = key[1..^1];
        }

        if (!RequestHeaders.IsValidKey(key))
        {
            key = null;
            return new Rejection(StatusCodes.Status400BadRequest, "Invalid Idempotency-Key",
                "An idempotency key is 1 to 255 printable ASCII characters without spaces (a UUID, say).");
        }

        return null;
    }

    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>The level the request asked for with <c>?durability=flush|fsync|kafka</c> (the silo's own without it); a rejection for anything else.</summary>
    public static Rejection? LevelOf(HttpContext context, out DurabilityLevel level)
    {
        level = DurabilityLevel.Default;
        var request = context.Request;
        if (!request.QueryString.HasValue || !request.Query.TryGetValue("durability", out var values) || values.Count == 0)
        {
            return null;
        }

        switch (values.Count == 1 ? values[0]?.ToLowerInvariant() : null)
        {
            case "flush":
                level = DurabilityLevel.Flush;
                return null;
            case "fsync":
                level = DurabilityLevel.Fsync;
                return null;
            case "kafka":
                level = DurabilityLevel.Kafka;
                return null;
            default:
                return new Rejection(StatusCodes.Status400BadRequest, "Invalid durability",
                    $"durability={string.Join(",", values.ToArray())} is not a level: use flush (written to the segment), fsync (on stable storage) or kafka (acknowledged by Kafka), once.");
        }
    }

    /// <summary>The record key of the <c>key=</c> query parameter (null when none); a rejection when there are several or it is longer than the topic's largest record.</summary>
    private static Rejection? KeyOf(HttpContext context, TopicRoute route, out byte[]? key)
    {
        key = null;
        if (!context.Request.Query.TryGetValue("key", out var values) || values.Count == 0 || string.IsNullOrEmpty(values[0]))
        {
            return null;
        }

        if (values.Count > 1)
        {
            return new Rejection(StatusCodes.Status400BadRequest, "Invalid key", "Give at most one key= parameter.");
        }

        var bytes = Encoding.UTF8.GetBytes(values[0]!);
        if (bytes.Length > route.MaxRecordBytes)
        {
            return new Rejection(StatusCodes.Status413PayloadTooLarge, "Key too large",
                $"The key is {bytes.Length} bytes, over the topic's largest record of {route.MaxRecordBytes} bytes.");
        }

        key = bytes;
        return null;
    }
}
