using System.Globalization;
using System.Text.Json;
using Ingest.Api.Http;
using Ingest.Api.Parsing;
using Ingest.Topics;
using Microsoft.AspNetCore.Http;
using Orleans.Runtime;

namespace Ingest.Api.Admin;

/// <summary>
/// <c>POST /v1/admin/replay</c> re-ships a topic's archived records in a time window to Kafka on every
/// silo that archived some; <c>GET /v1/admin/replay/{id}</c> reports the progress summed over the
/// silos, <c>"state":"done"</c> once each has finished. Request body:
/// <code>{"topic":"clicks","date":"2026-11-20"}</code> (one UTC day) or
/// <code>{"topic":"clicks","from":"2026-11-20T08:00:00Z","to":"2026-11-20T09:30:00Z"}</code> where a
/// date alone as <c>to</c> includes that whole day. Times are record ingest times, UTC.
/// </summary>
internal sealed class ReplayEndpoints(IGrainFactory grains, TimeProvider time)
{
    private const int MaxBodyBytes = 16 * 1024;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    public async Task Start(HttpContext context)
    {
        if (!TryReadRequest(await ReadSmallBodyAsync(context), out var topic, out var from, out var to, out var problem))
        {
            await Problems.Write(context, StatusCodes.Status400BadRequest, "Invalid replay request", problem);
            return;
        }

        var request = new ReplayRequest(NewId(), topic, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds());
        var statuses = await OnEverySilo(forwarder => forwarder.StartReplay(request));
        if (statuses is null)
        {
            await Problems.Write(context, StatusCodes.Status409Conflict, "Forwarding disabled",
                "Forwarding to Kafka is disabled (Kafka:Enabled=false): there is nothing to replay into.");
            return;
        }

        context.Response.Headers.Location = $"/v1/admin/replay/{request.Id}";
        await Results.Json(Summarize(request.Id, statuses!), statusCode: StatusCodes.Status202Accepted).ExecuteAsync(context);
    }

    public async Task Get(HttpContext context)
    {
        var id = context.GetRouteValue("id") as string ?? string.Empty;
        if (!IsValidId(id))
        {
            await Problems.Write(context, StatusCodes.Status404NotFound, "Unknown replay", $"No replay has the id '{id}'.");
            return;
        }

        var statuses = (await OnEverySilo(forwarder => forwarder.GetReplay(id)))?.OfType<ReplayStatus>().ToList();
        if (statuses is null || statuses.Count == 0)
        {
            await Problems.Write(context, StatusCodes.Status404NotFound, "Unknown replay", $"No silo knows a replay with the id '{id}'.");
            return;
        }

        await Results.Json(Summarize(id, statuses)).ExecuteAsync(context);
    }

    /// <summary>Calls every active silo's forwarder; null when forwarding is disabled there.</summary>
    private async Task<List<T>?> OnEverySilo<T>(Func<IForwarderGrain, Task<T>> call)
    {
        try
        {
            return [.. await AdminCalls.OnEverySilo(grains, time, CallTimeout, call)];
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static ReplaySummary Summarize(string id, IReadOnlyList<ReplayStatus> statuses)
    {
        var first = statuses.FirstOrDefault();
        var total = statuses.Sum(s => s.RecordsTotal);
        var done = statuses.Sum(s => s.RecordsDone);
        var finished = statuses.All(s => s.State == ReplayState.Done);
        return new ReplaySummary(
            id,
            first?.Topic ?? string.Empty,
            first?.KafkaTopic ?? string.Empty,
            first is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(first.FromMs),
            first is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(first.ToMs),
            finished ? "done" : "running",
            statuses.Sum(s => s.Segments),
            total,
            done,
            statuses.Count);
    }

    /// <summary>The body (gzip allowed), or nothing when it is empty, over 16 KiB or unreadable: all answered by the JSON check with a 400.</summary>
    /// <summary>An admin request's body, or an empty array when it is missing, unreadable or over <paramref name="maxBytes"/>.</summary>
    internal static async Task<byte[]> ReadSmallBodyAsync(HttpContext context, int maxBytes = MaxBodyBytes)
    {
        using var body = new PooledBuffer(1024);
        var read = await RequestBodyReader.ReadAsync(context.Request, body, maxBytes, context.RequestAborted);
        return read.Status == BodyStatus.Ok ? body.WrittenSpan.ToArray() : [];
    }

    internal static bool TryReadRequest(byte[] body, out string topic, out DateTimeOffset from, out DateTimeOffset to, out string problem)
    {
        topic = string.Empty;
        from = to = default;
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(body);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            problem = """The body must be a JSON object such as {"topic":"clicks","date":"2026-11-20"} (at most 16 KiB).""";
            return false;
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("topic", out var topicValue) || topicValue.ValueKind != JsonValueKind.String)
        {
            problem = "\"topic\" (a string) is required.";
            return false;
        }

        topic = topicValue.GetString()!;
        if (!TopicName.IsValid(topic))
        {
            problem = $"'{topic}' is not a valid topic name.";
            return false;
        }

        if (root.TryGetProperty("date", out var date))
        {
            if (!TryParseTime(date, endOfDay: false, out from, out var isDate) || !isDate || root.TryGetProperty("from", out _) || root.TryGetProperty("to", out _))
            {
                problem = "\"date\" must be a UTC date (yyyy-MM-dd), without \"from\" or \"to\".";
                return false;
            }

            to = from.AddDays(1);
        }
        else if (!root.TryGetProperty("from", out var fromValue) || !TryParseTime(fromValue, endOfDay: false, out from, out _)
            || !root.TryGetProperty("to", out var toValue) || !TryParseTime(toValue, endOfDay: true, out to, out _))
        {
            problem = "Give \"date\" (yyyy-MM-dd) or both \"from\" and \"to\" (ISO 8601 dates or times, UTC unless an offset is given).";
            return false;
        }

        if (to <= from)
        {
            problem = $"\"to\" ({to:o}) must be after \"from\" ({from:o}).";
            return false;
        }

        problem = string.Empty;
        return true;
    }

    private static bool TryParseTime(JsonElement value, bool endOfDay, out DateTimeOffset time, out bool isDate)
    {
        time = default;
        isDate = false;
        return value.ValueKind == JsonValueKind.String && AdminCalls.TryParseTime(value.GetString()!, endOfDay, out time, out isDate);
    }

    private static string NewId() => Guid.NewGuid().ToString("N");

    private static bool IsValidId(string id) => id.Length == 32 && id.All(char.IsAsciiHexDigitLower);
}

internal sealed record ReplaySummary(
    string Id,
    string Topic,
    string KafkaTopic,
    DateTimeOffset? From,
    DateTimeOffset? To,
    string State,
    int Segments,
    long RecordsTotal,
    long RecordsDone,
    int Silos);
