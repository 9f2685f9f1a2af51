using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using Ingest.Api.Appending;
using Ingest.Api.Diagnostics;
using Ingest.Api.Options;
using Ingest.Api.Parsing;
using Ingest.Topics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Http;

/// <summary>
/// The last step of an ingest request: 202 with <c>{"accepted":N,"durability":"flush"}</c> once the records are on disk
/// (201 and <c>"kafka"</c> once Kafka acknowledged them, for <c>durability=kafka</c>), or a
/// problem+json that says nothing was stored and what to do (body problems 400/413/415, 503 with
/// Retry-After for what the node could not store).
/// </summary>
internal sealed class IngestAnswers(ApiInstruments metrics, IOptions<IngestApiOptions> options, ILogger<IngestAnswers> logger)
{
    private const string JsonType = "application/json";
    private static readonly byte[] AcceptedOneFlush = """{"accepted":1,"durability":"flush"}"""u8.ToArray();
    private static readonly byte[] AcceptedOneFsync = """{"accepted":1,"durability":"fsync"}"""u8.ToArray();
    private readonly string _retryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
    private byte[]? _gateClosed;

    /// <summary>
    /// 503 + Retry-After for a request the node's gate refused (<c>Ingest:MaxConcurrentRequests</c>). Under overload this
    /// is the answer most requests get, so it costs as little as an answer can: the same problem+json every time, its
    /// bytes made once (the general path builds and serializes a ProblemDetails per answer, several times the work).
    /// </summary>
    public Task GateClosed(HttpContext context, string detail)
    {
        var body = _gateClosed ??= UnavailableProblem("Overloaded", detail + ". Nothing of this request was stored; retry later.");
        context.Items[ApiInstruments.ReasonItem] = "overload";
        var response = context.Response;
        response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        response.Headers.RetryAfter = _retryAfter;
        response.ContentType = "application/problem+json";
        response.ContentLength = body.Length;
        response.BodyWriter.Write(body);
        return Task.CompletedTask;
    }

    /// <summary>The problem+json ASP.NET Core writes for a 503 (RFC 9110's type for it), as UTF-8.</summary>
    private static byte[] UnavailableProblem(string title, string detail)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", "https://tools.ietf.org/html/rfc9110#section-15.6.4");
            json.WriteString("title", title);
            json.WriteNumber("status", StatusCodes.Status503ServiceUnavailable);
            json.WriteString("detail", detail);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static BodyRead RecordTooLarge(int limit) =>
        new(BodyStatus.TooLarge, $"The record is over Ingest:MaxRecordBytes: at most {limit} bytes of value with this key.");

    public static BodyRead RecordLimit(BodyRead read, int limit) =>
        read.Status == BodyStatus.TooLarge ? RecordTooLarge(limit) : read;

    public Task BodyProblem(HttpContext context, string topic, BodyRead read)
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
        return Problems.Write(context, status, title, read.Detail ?? title);
    }

    /// <summary>Header of an answer that repeats the first answer to the same <c>Idempotency-Key</c> (nothing was stored).</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>
    /// What the topic grain answered: 201 when Kafka acknowledged the records (<c>durability=kafka</c>), 202 when they are
    /// on disk, the body saying the level reached; or 503 with what went wrong. A request with an answer of its own
    /// (<paramref name="request"/> ≥ 0: an idempotency key, or the Kafka level) gets that one: when it repeated an
    /// earlier request, the earlier answer, marked <c>Idempotent-Replayed: true</c>.
    /// </summary>
    public Task Result(HttpContext context, string topic, KeyValuePair<string, object?> topicTag, AppendResult result, int records, long started, int request = -1)
    {
        var level = result.Level;
        int partition = -1;
        long offset = -1;
        if (request >= 0 && result.Answers is { } answers && request < answers.Length)
        {
            var own = answers[request];
            result = new AppendResult(own.Status, own.Detail);
            records = own.Accepted;
            (level, partition, offset) = (own.Level, own.Partition, own.Offset);
            if (own.Replayed)
            {
                context.Response.Headers[ReplayedHeader] = "true";
                metrics.Accepted(topicTag, 0, started); // answered again: nothing new was accepted
                return Accepted(context, records, level, partition, offset);
            }
        }

        if (result.Status == AppendStatus.Appended)
        {
            metrics.Accepted(topicTag, records, started);
            return Accepted(context, records, level, partition, offset);
        }

        if (result.Status == AppendStatus.LevelUnavailable)
        {
            ApiLog.RequestRejected(logger, topic, StatusCodes.Status400BadRequest, result.Detail ?? "durability unavailable");
            return Problems.Write(context, StatusCodes.Status400BadRequest, "Durability not available", (result.Detail ?? "durability=kafka is not available here") + ". Nothing was stored.");
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
            AppendStatus.Indeterminate => "Outcome unknown",
            _ => "Not stored",
        };
        context.Response.Headers.RetryAfter = _retryAfter;
        var consequence = result.Status == AppendStatus.Indeterminate
            ? ". The records may or may not be stored: a retry may store them twice."
            : ". Nothing of this request was stored; retry later.";
        return Problems.Write(context, StatusCodes.Status503ServiceUnavailable, title, (result.Detail ?? title) + consequence);
    }

    /// <summary><c>{"accepted":N,"durability":"…"}</c> (and where Kafka put a single record): 201 for the Kafka level, else 202.</summary>
    private static Task Accepted(HttpContext context, int records, DurabilityLevel level, int partition, long offset)
    {
        var response = context.Response;
        response.ContentType = JsonType;
        var writer = response.BodyWriter;
        if (records == 1 && level is DurabilityLevel.Flush or DurabilityLevel.Fsync)
        {
            var body = level == DurabilityLevel.Flush ? AcceptedOneFlush : AcceptedOneFsync;
            response.StatusCode = StatusCodes.Status202Accepted;
            response.ContentLength = body.Length;
            writer.Write(body);
            return Task.CompletedTask;
        }

        response.StatusCode = level == DurabilityLevel.Kafka ? StatusCodes.Status201Created : StatusCodes.Status202Accepted;
        var span = writer.GetSpan(96);
        var at = Append(span, "{\"accepted\":"u8);
        Utf8Formatter.TryFormat(records, span[at..], out var digits);
        at += digits;
        at += Append(span[at..], level switch
        {
            DurabilityLevel.Kafka => ",\"durability\":\"kafka\""u8,
            DurabilityLevel.Fsync => ",\"durability\":\"fsync\""u8,
            _ => ",\"durability\":\"flush\""u8,
        });
        if (level == DurabilityLevel.Kafka && partition >= 0)
        {
            at += Append(span[at..], ",\"partition\":"u8);
            Utf8Formatter.TryFormat(partition, span[at..], out digits);
            at += digits;
            at += Append(span[at..], ",\"offset\":"u8);
            Utf8Formatter.TryFormat(offset, span[at..], out digits);
            at += digits;
        }

        span[at++] = (byte)'}';
        response.ContentLength = at;
        writer.Advance(at);

        // Kestrel flushes the response when the handler returns.
        return Task.CompletedTask;
    }

    private static int Append(Span<byte> destination, ReadOnlySpan<byte> text)
    {
        text.CopyTo(destination);
        return text.Length;
    }
}
