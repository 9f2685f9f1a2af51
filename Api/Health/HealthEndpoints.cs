using System.Globalization;
using Ingest.Api.Access;
using Ingest.Api.Options;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Health;

/// <summary><c>GET /healthz</c> (the process answers) and <c>GET /readyz</c> (this node can accept records).</summary>
internal sealed class HealthEndpoints(IReadinessProbe readiness, AccessControl access, IOptions<IngestApiOptions> options)
{
    private readonly string _retryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);

    public static Task Healthz(HttpContext context)
    {
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync("ok\n");
    }

    /// <summary>
    /// 200 when this node can accept records, else 503 with the reasons. The body also names the
    /// configuration version this node runs, so an operator can see a change reach every node.
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
            context.Response.Headers.RetryAfter = _retryAfter;
        }

        await context.Response.WriteAsJsonAsync(new ReadinessBody(report.Ready ? "ready" : "not ready", report.Reasons, report.ActiveSilos, report.PlacesOn, policy.Version, report.Kafka), HealthJsonContext.Default.ReadinessBody, cancellationToken: context.RequestAborted);
    }
}

internal sealed record ReadinessBody(
    string Status,
    IReadOnlyList<string> Reasons,
    int? Silos,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] int? PlacesOn,
    long ConfigVersion,
    string? Kafka);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(ReadinessBody))]
internal sealed partial class HealthJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
