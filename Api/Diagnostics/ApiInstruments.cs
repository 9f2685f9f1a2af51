using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ingest.Diagnostics;
using Ingest.Topics;
using Microsoft.AspNetCore.Http;

namespace Ingest.Api.Diagnostics;

/// <summary>
/// Frontend instruments (meter <c>Ingest.Api</c>): what arrived, what got 202 and how fast, and what was
/// refused and why. Topic labels are bounded (<see cref="TopicLabels"/>); an invalid topic name counts as <c>other</c>.
/// </summary>
internal sealed class ApiInstruments
{
    public const string MeterName = "Ingest.Api";
    public const string ReasonTag = "reason";
    public const string ReasonItem = "ingest.reason";

    private readonly TopicLabels _labels;
    private readonly Counter<long> _recordsReceived;
    private readonly Counter<long> _bytesReceived;
    private readonly Counter<long> _recordsAccepted;
    private readonly Counter<long> _rejected;
    private readonly Histogram<double> _ackDuration;

    private readonly TimeProvider _time;

    public ApiInstruments(IMeterFactory meters, TopicLabels labels, TimeProvider time)
    {
        _labels = labels;
        _time = time;
        var meter = meters.Create(MeterName);
        _recordsReceived = meter.CreateCounter<long>("ingest.records.received", "{record}", "Records in well-formed, authorized requests, handed to the cluster (202 or 503).");
        _bytesReceived = meter.CreateCounter<long>("ingest.bytes.received", "By", "Request body bytes (after gzip) of those requests.");
        _recordsAccepted = meter.CreateCounter<long>("ingest.records.accepted", "{record}", "Records answered 202: on disk with the configured durability.");
        _rejected = meter.CreateCounter<long>("ingest.requests.rejected", "{request}",
            "Ingest requests refused, by reason: bad_request, too_large, unsupported, auth, forbidden, rate, overload, disk_full, unavailable.");
        _ackDuration = meter.CreateHistogram("ingest.ack.duration", "s", "From a request's arrival to its 202.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
    }

    /// <summary>The <c>topic</c> tag of a request whose topic was already validated.</summary>
    public KeyValuePair<string, object?> TagFor(string topic) => _labels.TagFor(topic);

    public void Received(KeyValuePair<string, object?> topicTag, int records, long bytes)
    {
        _recordsReceived.Add(records, topicTag);
        _bytesReceived.Add(bytes, topicTag);
    }

    /// <param name="startedTimestamp">The request's arrival, a timestamp of the injected <see cref="TimeProvider"/>.</param>
    public void Accepted(KeyValuePair<string, object?> topicTag, int records, long startedTimestamp)
    {
        _recordsAccepted.Add(records, topicTag);
        _ackDuration.Record(_time.GetElapsedTime(startedTimestamp).TotalSeconds, topicTag);
    }

    /// <summary>Counts a finished request that was refused (status 400 and up), by the reason it carries or its status.</summary>
    public void Completed(HttpContext context)
    {
        var status = context.Response.StatusCode;
        if (status < 400)
        {
            return;
        }

        var reason = context.Items.TryGetValue(ReasonItem, out var marked) && marked is string given ? given : status switch
        {
            StatusCodes.Status401Unauthorized => "auth",
            StatusCodes.Status403Forbidden => "forbidden",
            StatusCodes.Status413PayloadTooLarge => "too_large",
            StatusCodes.Status415UnsupportedMediaType => "unsupported",
            StatusCodes.Status429TooManyRequests => "rate",
            StatusCodes.Status503ServiceUnavailable => "unavailable",
            _ => "bad_request",
        };
        _rejected.Add(1, Tag(context.Request.RouteValues["topic"] as string ?? ""), new KeyValuePair<string, object?>(ReasonTag, reason));
    }

    /// <summary>The tag of any route value: an invalid name is never a label of its own.</summary>
    private KeyValuePair<string, object?> Tag(string topic) =>
        new(TopicLabels.Name, TopicName.IsValid(topic) ? _labels.LabelFor(topic) : TopicLabels.Other);
}
