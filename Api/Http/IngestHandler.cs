using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Text;
using System.Diagnostics.CodeAnalysis;
using Ingest.Api.Access;
using Ingest.Api.Appending;
using Ingest.Api.Diagnostics;
using Ingest.Api.Health;
using Ingest.Api.Options;
using Ingest.Api.Parsing;
using Ingest.Topics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Http;

/// <summary>
/// The ingest endpoints. Handlers are plain request delegates that read the body from the pipe and
/// frame it straight into the topic's next grain call; only errors go through ProblemDetails.
/// </summary>
internal sealed class IngestHandler(
    TopicAppender appender,
    AccessControl access,
    ApiInstruments metrics,
    RequestGate gate,
    IReadinessProbe readiness,
    IOptions<IngestApiOptions> options,
    TimeProvider time,
    ILogger<IngestHandler> logger)
{
    private const string NdjsonType = "application/x-ndjson";
    private const string JsonType = "application/json";

    private static readonly byte[] AcceptedOne = """{"accepted":1}"""u8.ToArray();

    private readonly IngestApiOptions _options = options.Value;
    private int _spread;

    /// <summary><c>POST /v1/topics/{topic}</c>: the body is one record, kept byte for byte.</summary>
    public Task AppendOne(HttpContext context) => Gated(context, _appendOne ??= AppendOneCore);

    /// <summary><c>POST /v1/topics/{topic}/batch</c>: NDJSON lines or a JSON array, all or nothing.</summary>
    public Task AppendBatch(HttpContext context) => Gated(context, _appendBatch ??= AppendBatchCore);

    // Built once: an instance method group would otherwise allocate a delegate per request.
    private Func<HttpContext, Task>? _appendOne;
    private Func<HttpContext, Task>? _appendBatch;

    private async Task Gated(HttpContext context, Func<HttpContext, Task> handler)
    {
        if (!gate.TryEnter())
        {
            await WriteResult(context, "-", default, new AppendResult(AppendStatus.Overloaded,
                $"this node already works on Ingest:MaxConcurrentRequests={_options.MaxConcurrentRequests} requests"), 0, 0);
            metrics.Completed(context);
            return;
        }

        try
        {
            await handler(context);
        }
        finally
        {
            gate.Exit();
            metrics.Completed(context);
        }
    }

    private async Task AppendOneCore(HttpContext context)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var request = context.Request;
        if (!TryGetTopic(context, out var topic) || !TryAuthorize(context, topic, out var route, out var grant) || !TryGetKey(context, route, out var key, out var hasKey))
        {
            await WriteRejection(context);
            return;
        }

        var topicTag = metrics.TagFor(topic); // looked up once: the request is counted when received and when accepted

        var valueLimit = route.MaxRecordBytes - (hasKey ? key.Length : 0);
        var timestamp = time.GetUtcNow().ToUnixTimeMilliseconds();
        Task<AppendResult> pending;
        try
        {
            var gzip = RequestBodyReader.IsGzip(request, out var unsupported);
            if (unsupported.Status != BodyStatus.Ok)
            {
                await WriteBodyProblem(context, topic, unsupported);
                return;
            }

            if (gzip)
            {
                using var inflated = new PooledBuffer(4096);
                var read = await RequestBodyReader.ReadAsync(request, inflated, valueLimit, context.RequestAborted);
                if (read.Status != BodyStatus.Ok)
                {
                    await WriteBodyProblem(context, topic, RecordLimit(read, valueLimit));
                    return;
                }

                if (!TryTakeRate(context, grant, 1, inflated.Length + key.Length))
                {
                    await WriteRejection(context);
                    return;
                }

                metrics.Received(topicTag, 1, inflated.Length);

                pending = appender.AppendRecord(ShardKey(topic, route, key.Span, hasKey), timestamp, key.Span, hasKey, new ReadOnlySequence<byte>(inflated.WrittenSpan.ToArray()));
            }
            else
            {
                if (request.ContentLength > valueLimit)
                {
                    await WriteBodyProblem(context, topic, RecordTooLarge(valueLimit));
                    return;
                }

                var reader = request.BodyReader;
                ReadResult read;
                while (true)
                {
                    read = await reader.ReadAsync(context.RequestAborted);
                    if (read.Buffer.Length > valueLimit)
                    {
                        reader.AdvanceTo(read.Buffer.End);
                        await WriteBodyProblem(context, topic, RecordTooLarge(valueLimit));
                        return;
                    }

                    if (read.IsCompleted)
                    {
                        break;
                    }

                    reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                }

                if (read.Buffer.IsEmpty)
                {
                    reader.AdvanceTo(read.Buffer.End);
                    await WriteBodyProblem(context, topic, new BodyRead(BodyStatus.Empty, "The request body is empty: a record needs at least one byte."));
                    return;
                }

                if (!TryTakeRate(context, grant, 1, read.Buffer.Length + key.Length))
                {
                    reader.AdvanceTo(read.Buffer.End);
                    await WriteRejection(context);
                    return;
                }

                metrics.Received(topicTag, 1, read.Buffer.Length);

                pending = appender.AppendRecord(ShardKey(topic, route, key.Span, hasKey), timestamp, key.Span, hasKey, read.Buffer);
                reader.AdvanceTo(read.Buffer.End);
            }
        }
        catch (BadHttpRequestException e)
        {
            await WriteProblem(context, e.StatusCode, "Bad request body", e.Message);
            return;
        }

        await WriteResult(context, topic, topicTag, await pending, 1, started);
    }

    private async Task AppendBatchCore(HttpContext context)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var request = context.Request;
        if (!TryGetTopic(context, out var topic) || !TryAuthorize(context, topic, out var route, out var grant) || !TryGetKey(context, route, out var key, out var hasKey))
        {
            await WriteRejection(context);
            return;
        }

        var topicTag = metrics.TagFor(topic); // looked up once: the request is counted when received and when accepted

        var ndjson = RequestBodyReader.HasMediaType(request, NdjsonType) || RequestBodyReader.HasMediaType(request, "application/jsonl");
        if (!ndjson && !RequestBodyReader.HasMediaType(request, JsonType))
        {
            await WriteProblem(context, StatusCodes.Status415UnsupportedMediaType, "Unsupported batch content type",
                $"Content-Type '{request.ContentType}' is not a batch format: use {NdjsonType} (one record per line) or {JsonType} (an array of records).");
            return;
        }

        var stamp = new RecordStamp(time.GetUtcNow().ToUnixTimeMilliseconds(), key, hasKey);
        using var body = new PooledBuffer((int)Math.Clamp(request.ContentLength ?? 4096, 256, _options.MaxRequestBytes));
        BodyRead read;
        try
        {
            read = await RequestBodyReader.ReadAsync(request, body, _options.MaxRequestBytes, context.RequestAborted);
        }
        catch (BadHttpRequestException e)
        {
            await WriteProblem(context, e.StatusCode, "Bad request body", e.Message);
            return;
        }

        if (read.Status != BodyStatus.Ok)
        {
            await WriteBodyProblem(context, topic, read);
            return;
        }

        // Frames are ~20 bytes more per record than the body; reserve for short records up front.
        using var frames = new PooledBuffer(body.Length + body.Length / 4 + 64);
        var parsed = ndjson
            ? BatchParser.ParseNdjson(body.WrittenSpan, stamp, route.MaxRecordBytes, _options.ValidateNdjsonLines, frames)
            : BatchParser.ParseJsonArray(body.WrittenSpan, stamp, route.MaxRecordBytes, frames);
        switch (parsed.Status)
        {
            case ParseStatus.Malformed:
                await WriteProblem(context, StatusCodes.Status400BadRequest, "Malformed batch", parsed.Detail!);
                return;
            case ParseStatus.RecordTooLarge:
                await WriteProblem(context, StatusCodes.Status413PayloadTooLarge, "Record too large", parsed.Detail!);
                return;
        }

        if (!TryTakeRate(context, grant, parsed.Records, body.Length))
        {
            await WriteRejection(context);
            return;
        }

        metrics.Received(topicTag, parsed.Records, body.Length);

        var result = await appender.AppendFrames(ShardKey(topic, route, key.Span, hasKey), frames.WrittenSpan, parsed.Records);
        await WriteResult(context, topic, topicTag, result, parsed.Records, started);
    }

    public static Task Healthz(HttpContext context)
    {
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync("ok\n");
    }

    /// <summary>
    /// <c>GET /readyz</c>: 200 when this node can accept records, else 503 with the reasons. The body also
    /// names the configuration version this node runs, so an operator can see a change reach every node.
    /// </summary>
    public async Task Readyz(HttpContext context)
    {
        var report = await readiness.CheckAsync(context.RequestAborted);
        var policy = access.Policy;
        if (!policy.FromCluster)
        {
            report = report with { Ready = false, Reasons = [.. report.Reasons, "the cluster configuration has not been received yet"] };
        }

        context.Response.StatusCode = report.Ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        if (!report.Ready)
        {
            context.Response.Headers.RetryAfter = _options.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await context.Response.WriteAsJsonAsync(new ReadinessBody(report.Ready ? "ready" : "not ready", report.Reasons, report.ActiveSilos, policy.Version, report.Kafka), ApiJsonContext.Default.ReadinessBody, cancellationToken: context.RequestAborted);
    }

    /// <summary>The topic grain a request goes to: its key's shard, or for unkeyed requests the next shard in turn.</summary>
    private string ShardKey(string topic, TopicRoute route, ReadOnlySpan<byte> key, bool hasKey)
    {
        if (route.ShardKeys is not { } keys)
        {
            return topic;
        }

        // Grain keys are built once per sharded topic: no string per request.
        var shard = hasKey ? TopicShards.ShardOf(key, keys.Length) : (int)((uint)Interlocked.Increment(ref _spread) % (uint)keys.Length);
        return keys[shard];
    }

    private bool TryGetTopic(HttpContext context, out string topic)
    {
        topic = context.Request.RouteValues["topic"] as string ?? string.Empty;
        if (TopicName.IsValid(topic))
        {
            return true;
        }

        context.Items[RejectionKey] = new Rejection(StatusCodes.Status400BadRequest, "Invalid topic name",
            "A topic name is 1 to 249 characters of [A-Za-z0-9._-], and not '.' or '..'.");
        return false;
    }

    /// <summary>The configuration is here, the key (if keys are on) is known and enabled, and it may write the topic.</summary>
    private bool TryAuthorize(HttpContext context, string topic, [NotNullWhen(true)] out TopicRoute? route, out KeyGrant? grant)
    {
        var denial = access.Check(context.Request, topic, out route, out grant);
        if (denial == AccessDenial.None && route is not null)
        {
            return true;
        }

        Rejection rejection = denial switch
        {
            AccessDenial.NotConfigured => new(StatusCodes.Status503ServiceUnavailable, "Configuration not loaded",
                "This node has not received the cluster's configuration yet. Nothing was stored; retry later."),
            AccessDenial.MissingKey => new(StatusCodes.Status401Unauthorized, "API key required",
                "Send a producer key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'."),
            AccessDenial.UnknownKey => new(StatusCodes.Status401Unauthorized, "API key not accepted",
                "The key is unknown, revoked or disabled."),
            AccessDenial.TopicNotListed => new(StatusCodes.Status403Forbidden, "Topic not allowed",
                $"Topic '{topic}' is not on this cluster's allow-list."),
            _ => new(StatusCodes.Status403Forbidden, "Topic not allowed for this key",
                $"Key '{grant!.Name}' may not write topic '{topic}'."),
        };
        context.Items[RejectionKey] = rejection;
        if (rejection.Status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }
        else if (rejection.Status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = _options.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        ApiLog.RequestRejected(logger, topic, rejection.Status, rejection.Title);
        return false;
    }

    /// <summary>Takes the request's records and bytes from its key's rate limit, if it has one; else 429 with Retry-After.</summary>
    private bool TryTakeRate(HttpContext context, KeyGrant? grant, int records, long bytes)
    {
        if (grant?.Limiter is not { } limiter || limiter.TryTake(records, bytes, out var wait))
        {
            return true;
        }

        var seconds = (int)Math.Clamp(Math.Ceiling(wait.TotalSeconds), 1, 3600);
        context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Items[RejectionKey] = new Rejection(StatusCodes.Status429TooManyRequests, "Rate limit exceeded",
            $"Key '{grant.Name}' is over its rate limit on this frontend; retry after {seconds} s. Nothing of this request was stored.");
        ApiLog.RequestRejected(logger, grant.Name, StatusCodes.Status429TooManyRequests, "rate limit");
        return false;
    }

    private bool TryGetKey(HttpContext context, TopicRoute route, out ReadOnlyMemory<byte> key, out bool hasKey)
    {
        key = default;
        hasKey = false;
        if (!context.Request.Query.TryGetValue("key", out var values) || values.Count == 0 || string.IsNullOrEmpty(values[0]))
        {
            return true;
        }

        if (values.Count > 1)
        {
            context.Items[RejectionKey] = new Rejection(StatusCodes.Status400BadRequest, "Invalid key", "Give at most one key= parameter.");
            return false;
        }

        var bytes = Encoding.UTF8.GetBytes(values[0]!);
        if (bytes.Length > route.MaxRecordBytes)
        {
            context.Items[RejectionKey] = new Rejection(StatusCodes.Status413PayloadTooLarge, "Key too large",
                $"The key is {bytes.Length} bytes, over the topic's largest record of {route.MaxRecordBytes} bytes.");
            return false;
        }

        key = bytes;
        hasKey = true;
        return true;
    }

    private const string RejectionKey = "ingest.rejection";

    private sealed record Rejection(int Status, string Title, string Detail);

    private Task WriteRejection(HttpContext context)
    {
        var rejection = (Rejection)context.Items[RejectionKey]!;
        return WriteProblem(context, rejection.Status, rejection.Title, rejection.Detail);
    }

    private static BodyRead RecordTooLarge(int limit) =>
        new(BodyStatus.TooLarge, $"The record is over Ingest:MaxRecordBytes: at most {limit} bytes of value with this key.");

    private static BodyRead RecordLimit(BodyRead read, int limit) =>
        read.Status == BodyStatus.TooLarge ? RecordTooLarge(limit) : read;

    private Task WriteBodyProblem(HttpContext context, string topic, BodyRead read)
    {
        var (status, title) = read.Status switch
        {
            BodyStatus.Empty => (StatusCodes.Status400BadRequest, "Empty body"),
            BodyStatus.TooLarge => (StatusCodes.Status413PayloadTooLarge, "Payload too large"),
            BodyStatus.BadEncoding => (StatusCodes.Status400BadRequest, "Corrupt gzip body"),
            BodyStatus.UnsupportedEncoding => (StatusCodes.Status415UnsupportedMediaType, "Unsupported Content-Encoding"),
            _ => (StatusCodes.Status400BadRequest, "Bad request"),
        };
        ApiLog.RequestRejected(logger, topic, status, read.Detail ?? title);
        return WriteProblem(context, status, title, read.Detail ?? title);
    }

    private Task WriteResult(HttpContext context, string topic, KeyValuePair<string, object?> topicTag, AppendResult result, int records, long started)
    {
        if (result.Status == AppendStatus.Appended)
        {
            metrics.Accepted(topicTag, records, started);
            return WriteAccepted(context, records);
        }

        context.Items[ApiInstruments.ReasonItem] = result.Status switch
        {
            AppendStatus.Overloaded => "overload",
            AppendStatus.DiskFull => "disk_full",
            _ => "unavailable",
        };

        ApiLog.RequestRejected(logger, topic, StatusCodes.Status503ServiceUnavailable, result.Detail ?? result.Status.ToString());
        var title = result.Status switch
        {
            AppendStatus.DiskFull => "Disk budget exhausted",
            AppendStatus.WriteFailed => "Write failed",
            AppendStatus.Overloaded => "Overloaded",
            AppendStatus.Unavailable => "Cluster unavailable",
            _ => "Not stored",
        };
        context.Response.Headers.RetryAfter = _options.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return WriteProblem(context, StatusCodes.Status503ServiceUnavailable, title,
            (result.Detail ?? title) + ". Nothing of this request was stored; retry later.");
    }

    private static Task WriteAccepted(HttpContext context, int records)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status202Accepted;
        response.ContentType = JsonType;
        var writer = response.BodyWriter;
        if (records == 1)
        {
            response.ContentLength = AcceptedOne.Length;
            writer.Write(AcceptedOne);
        }
        else
        {
            var span = writer.GetSpan(32);
            "{\"accepted\":"u8.CopyTo(span);
            Utf8Formatter.TryFormat(records, span[12..], out var digits);
            span[12 + digits] = (byte)'}';
            response.ContentLength = 13 + digits;
            writer.Advance(13 + digits);
        }

        // Kestrel flushes the response when the handler returns.
        return Task.CompletedTask;
    }

    internal static Task WriteProblem(HttpContext context, int status, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title).ExecuteAsync(context);
}

internal sealed record ReadinessBody(string Status, IReadOnlyList<string> Reasons, int? Silos, long ConfigVersion, string? Kafka);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ReadinessBody))]
internal sealed partial class ApiJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
