using Ingest.Api.Http;
using Ingest.Audit;
using Ingest.Topics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Ingest.Api.Admin;

/// <summary>
/// <c>GET /v1/admin/audit/{topic}?from=&amp;to=</c>: the topic's audit per UTC hour of ingest time, summed over every
/// silo (each counts the directories it holds); <c>GET /v1/admin/audit/{topic}/verify</c> (where Kafka is: the
/// silo host) sets it beside what Kafka holds. <c>from</c> and <c>to</c> are ISO 8601 times or dates (UTC unless
/// an offset is given; a date as <c>to</c> includes that day); by default the last 24 hours.
/// </summary>
internal sealed class AuditEndpoints(IGrainFactory grains, TimeProvider time, IServiceProvider services)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxWindow = TimeSpan.FromDays(400);

    /// <summary>Whether this host can verify (it reaches Kafka itself).</summary>
    public bool CanVerify => services.GetService<IAuditVerifier>() is not null;

    public async Task Get(HttpContext context)
    {
        if (await WindowOf(context) is not { } window)
        {
            return;
        }

        var hours = await ClusterHours(window.Topic, window.From, window.To);
        await Results.Json(new AuditAnswer(
            window.Topic, window.From, window.To, hours.Silos,
            [.. hours.Hours.Select(h => new AuditAnswerHour(DateTimeOffset.FromUnixTimeMilliseconds(h.HourMs), h.Accepted, h.Stored, h.Acked, h.Pending, h.SentAgain, h.Offsets))],
            new AuditTotals(hours.Hours.Sum(h => h.Accepted), hours.Hours.Sum(h => h.Stored), hours.Hours.Sum(h => h.Acked), hours.Hours.Sum(h => h.Pending), hours.Hours.Sum(h => h.SentAgain))))
            .ExecuteAsync(context);
    }

    public async Task Verify(HttpContext context)
    {
        if (await WindowOf(context) is not { } window)
        {
            return;
        }

        var hours = await ClusterHours(window.Topic, window.From, window.To);
        AuditVerification verification;
        try
        {
            verification = await services.GetRequiredService<IAuditVerifier>().VerifyAsync(window.Topic, window.From, window.To, hours.Hours, context.RequestAborted);
        }
        catch (InvalidOperationException e)
        {
            await Problems.Write(context, StatusCodes.Status502BadGateway, "Kafka could not be read", e.Message);
            return;
        }

        await Results.Json(verification with { }).ExecuteAsync(context);
    }

    private async Task<(int Silos, IReadOnlyList<AuditHour> Hours)> ClusterHours(string topic, DateTimeOffset from, DateTimeOffset to)
    {
        var silos = await AdminCalls.OnEverySilo(grains, time, CallTimeout, forwarder => forwarder.GetAudit(topic, from.ToUnixTimeMilliseconds(), to.ToUnixTimeMilliseconds()));
        return (silos.Length, ClusterAudit.Sum(silos));
    }

    /// <summary>The topic and window of the request, or null once a 400 has been written.</summary>
    private async Task<(string Topic, DateTimeOffset From, DateTimeOffset To)?> WindowOf(HttpContext context)
    {
        var topic = context.GetRouteValue("topic") as string ?? string.Empty;
        if (!TopicName.IsValid(topic))
        {
            await Problems.Write(context, StatusCodes.Status400BadRequest, "Invalid topic", $"'{topic}' is not a valid topic name.");
            return null;
        }

        var now = time.GetUtcNow();
        var query = context.Request.Query;
        if (!TryParseTime(query["to"], endOfDay: true, out var to, now.AddTicks(TimeSpan.TicksPerHour - (now.UtcTicks % TimeSpan.TicksPerHour)))
            || !TryParseTime(query["from"], endOfDay: false, out var from, to.AddDays(-1)))
        {
            await Problems.Write(context, StatusCodes.Status400BadRequest, "Invalid window",
                "\"from\" and \"to\" must be ISO 8601 dates (yyyy-MM-dd) or times (2026-12-01T08:00:00Z), UTC unless an offset is given.");
            return null;
        }

        if (to <= from || to - from > MaxWindow)
        {
            await Problems.Write(context, StatusCodes.Status400BadRequest, "Invalid window", $"\"to\" ({to:o}) must be after \"from\" ({from:o}), at most {MaxWindow.TotalDays} days later.");
            return null;
        }

        return (topic, from, to);
    }

    /// <summary>The query value as a time, or <paramref name="absent"/> when there is none.</summary>
    private static bool TryParseTime(string? text, bool endOfDay, out DateTimeOffset value, DateTimeOffset absent)
    {
        value = absent;
        return string.IsNullOrEmpty(text) || AdminCalls.TryParseTime(text, endOfDay, out value, out _);
    }
}

internal sealed record AuditAnswer(string Topic, DateTimeOffset From, DateTimeOffset To, int Silos, IReadOnlyList<AuditAnswerHour> Hours, AuditTotals Total);

internal sealed record AuditAnswerHour(DateTimeOffset Hour, long Accepted, long Stored, long Acked, long Pending, long SentAgain, IReadOnlyList<AuditOffsets> Offsets);

internal sealed record AuditTotals(long Accepted, long Stored, long Acked, long Pending, long SentAgain);
