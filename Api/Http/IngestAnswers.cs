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
/// The last step of an ingest request: 202 with <c>{"accepted":N}</c> once the records are on disk, or a
/// problem+json that says nothing was stored and what to do (body problems 400/413/415, 503 with
/// Retry-After for what the node could not store).
/// </summary>
internal sealed class IngestAnswers(ApiInstruments metrics, IOptions<IngestApiOptions> options, ILogger<IngestAnswers> logger)
{
    private const string JsonType = "application/json";
    private static readonly byte[] AcceptedOne = """{"accepted":1}"""u8.ToArray();
    private readonly string _retryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);

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
    /// What the topic grain answered: 202, or 503 with what went wrong. A request with an answer of its own
    /// (<paramref name="request"/> ≥ 0, sent with an idempotency key) gets that one: when it repeated an earlier
    /// request, the earlier answer, marked <c>Idempotent-Replayed: true</c>.
    /// </summary>
    public Task Result(HttpContext context, string topic, KeyValuePair<string, object?> topicTag, AppendResult result, int records, long started, int request = -1)
    {
        if (request >= 0 && result.Answers is { } answers && request < answers.Length)
        {
            var own = answers[request];
            result = new AppendResult(own.Status, own.Detail);
            records = own.Accepted;
            if (own.Replayed)
            {
                context.Response.Headers[ReplayedHeader] = "true";
                metrics.Accepted(topicTag, 0, started); // answered again: nothing new was accepted
                return Accepted(context, records);
            }
        }

        if (result.Status == AppendStatus.Appended)
        {
            metrics.Accepted(topicTag, records, started);
            return Accepted(context, records);
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

    private static Task Accepted(HttpContext context, int records)
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
}
