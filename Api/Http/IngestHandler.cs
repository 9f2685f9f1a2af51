using System.Buffers;
using System.IO.Pipelines;
using Ingest.Api.Appending;
using Ingest.Api.Diagnostics;
using Ingest.Api.Options;
using Ingest.Api.Parsing;
using Ingest.Topics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Http;

/// <summary>
/// The ingest endpoints, as steps: the gate and access (<see cref="RequestAdmission"/>), the body (read
/// here, from the pipe, framed straight into the topic's next grain call), the route
/// (<see cref="Access.TopicRoute.GrainKeyFor"/>), the rate limit, and the answer (<see cref="IngestAnswers"/>).
/// </summary>
internal sealed class IngestHandler(
    TopicAppender appender,
    RequestAdmission admission,
    IngestAnswers answers,
    ApiInstruments metrics,
    IOptions<IngestApiOptions> options,
    TimeProvider time)
{
    private const string NdjsonType = "application/x-ndjson";
    private const string JsonType = "application/json";

    private readonly IngestApiOptions _options = options.Value;

    /// <summary><c>POST /v1/topics/{topic}</c>: the body is one record, kept byte for byte.</summary>
    public Task AppendOne(HttpContext context) => Gated(context, _appendOne ??= AppendOneCore);

    /// <summary><c>POST /v1/topics/{topic}/batch</c>: NDJSON lines or a JSON array, all or nothing.</summary>
    public Task AppendBatch(HttpContext context) => Gated(context, _appendBatch ??= AppendBatchCore);

    // Built once: an instance method group would otherwise allocate a delegate per request.
    private Func<HttpContext, Task>? _appendOne;
    private Func<HttpContext, Task>? _appendBatch;

    private async Task Gated(HttpContext context, Func<HttpContext, Task> handler)
    {
        if (!admission.TryEnter())
        {
            await answers.GateClosed(context, admission.GateClosedDetail);
            metrics.Completed(context);
            return;
        }

        try
        {
            await handler(context);
        }
        finally
        {
            admission.Exit();
            metrics.Completed(context);
        }
    }

    private async Task AppendOneCore(HttpContext context)
    {
        var started = time.GetTimestamp();
        var request = context.Request;
        if (admission.Admit(context, out var admitted) is { } rejected)
        {
            await Problems.Write(context, rejected);
            return;
        }

        var (topic, route, grant, key, hasKey) = admitted;
        var badLevel = RequestAdmission.LevelOf(context, out var level);
        if ((RequestAdmission.HeadersOf(context, grant, batch: false, out var headers) ?? badLevel) is { } badOption)
        {
            await Problems.Write(context, badOption);
            return;
        }

        var topicTag = metrics.TagFor(topic); // looked up once: the request is counted when received and when accepted
        var valueLimit = route.MaxRecordBytes - (hasKey ? key.Length : 0);
        var timestamp = time.GetUtcNow().ToUnixTimeMilliseconds();
        Task<AppendResult> pending;
        var ownAnswer = -1;
        try
        {
            var gzip = RequestBodyReader.IsGzip(request, out var unsupported);
            if (unsupported.Status != BodyStatus.Ok)
            {
                await answers.BodyProblem(context, topic, unsupported);
                return;
            }

            if (gzip)
            {
                using var inflated = new PooledBuffer(4096);
                var read = await RequestBodyReader.ReadAsync(request, inflated, valueLimit, context.RequestAborted);
                if (read.Status != BodyStatus.Ok)
                {
                    await answers.BodyProblem(context, topic, IngestAnswers.RecordLimit(read, valueLimit));
                    return;
                }

                if (admission.TakeRate(context, grant, 1, inflated.Length + key.Length) is { } limited)
                {
                    await Problems.Write(context, limited);
                    return;
                }

                metrics.Received(topicTag, 1, inflated.Length);
                pending = appender.AppendRecord(route.GrainKeyFor(topic, key.Span, hasKey, headers), level, timestamp, key.Span, hasKey, new ReadOnlySequence<byte>(inflated.WrittenSpan.ToArray()), headers, out ownAnswer);
            }
            else
            {
                if (request.ContentLength > valueLimit)
                {
                    await answers.BodyProblem(context, topic, IngestAnswers.RecordTooLarge(valueLimit));
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
                        await answers.BodyProblem(context, topic, IngestAnswers.RecordTooLarge(valueLimit));
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
                    await answers.BodyProblem(context, topic, new BodyRead(BodyStatus.Empty, "The request body is empty: a record needs at least one byte."));
                    return;
                }

                if (admission.TakeRate(context, grant, 1, read.Buffer.Length + key.Length) is { } limited)
                {
                    reader.AdvanceTo(read.Buffer.End);
                    await Problems.Write(context, limited);
                    return;
                }

                metrics.Received(topicTag, 1, read.Buffer.Length);

                // Framed from the pipe's own buffer: it is released only once the record is copied into the call.
                pending = headers is null && level == DurabilityLevel.Default
                    ? appender.AppendRecord(route.GrainKeyFor(topic, key.Span, hasKey), timestamp, key.Span, hasKey, read.Buffer)
                    : appender.AppendRecord(route.GrainKeyFor(topic, key.Span, hasKey, headers), level, timestamp, key.Span, hasKey, read.Buffer, headers, out ownAnswer);
                reader.AdvanceTo(read.Buffer.End);
            }
        }
        catch (BadHttpRequestException e)
        {
            await Problems.Write(context, e.StatusCode, "Bad request body", e.Message);
            return;
        }

        await answers.Result(context, topic, topicTag, await pending, 1, started, ownAnswer);
    }

    private async Task AppendBatchCore(HttpContext context)
    {
        var started = time.GetTimestamp();
        var request = context.Request;
        if (admission.Admit(context, out var admitted) is { } rejected)
        {
            await Problems.Write(context, rejected);
            return;
        }

        var (topic, route, grant, key, hasKey) = admitted;
        var topicTag = metrics.TagFor(topic); // looked up once: the request is counted when received and when accepted
        // text/plain is what navigator.sendBeacon sends for a string (and a no-cors fetch may send): read as NDJSON.
        var ndjson = RequestBodyReader.HasMediaType(request, NdjsonType) || RequestBodyReader.HasMediaType(request, "application/jsonl")
            || RequestBodyReader.HasMediaType(request, "text/plain");
        if (!ndjson && !RequestBodyReader.HasMediaType(request, JsonType))
        {
            await Problems.Write(context, StatusCodes.Status415UnsupportedMediaType, "Unsupported batch content type",
                $"Content-Type '{request.ContentType}' is not a batch format: use {NdjsonType} or text/plain (one record per line) or {JsonType} (an array of records).");
            return;
        }

        var badLevel = RequestAdmission.LevelOf(context, out var level);
        if ((RequestAdmission.HeadersOf(context, grant, batch: true, out var headers) ?? badLevel) is { } badOption)
        {
            await Problems.Write(context, badOption);
            return;
        }

        var stamp = new RecordStamp(time.GetUtcNow().ToUnixTimeMilliseconds(), key, hasKey, headers);
        using var body = new PooledBuffer((int)Math.Clamp(request.ContentLength ?? 4096, 256, _options.MaxRequestBytes));
        BodyRead read;
        try
        {
            read = await RequestBodyReader.ReadAsync(request, body, _options.MaxRequestBytes, context.RequestAborted);
        }
        catch (BadHttpRequestException e)
        {
            await Problems.Write(context, e.StatusCode, "Bad request body", e.Message);
            return;
        }

        if (read.Status != BodyStatus.Ok)
        {
            await answers.BodyProblem(context, topic, read);
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
                await Problems.Write(context, StatusCodes.Status400BadRequest, "Malformed batch", parsed.Detail!);
                return;
            case ParseStatus.RecordTooLarge:
                await Problems.Write(context, StatusCodes.Status413PayloadTooLarge, "Record too large", parsed.Detail!);
                return;
        }

        if (admission.TakeRate(context, grant, parsed.Records, body.Length) is { } limited)
        {
            await Problems.Write(context, limited);
            return;
        }

        metrics.Received(topicTag, parsed.Records, body.Length);
        var result = await appender.AppendFrames(route.GrainKeyFor(topic, key.Span, hasKey, headers), level, frames.WrittenSpan, parsed.Records, headers?.Scope, out var ownAnswer);
        await answers.Result(context, topic, topicTag, result, parsed.Records, started, ownAnswer);
    }
}
