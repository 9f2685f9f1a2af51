using System.Diagnostics;
using Ingest.Diagnostics;
using Ingest.Records;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ingest.Api.Tracing;

/// <summary>
/// The HTTP server span of a traced request, decided before anything is allocated for it: a request that arrives
/// with a <c>traceparent</c> follows its caller (traced when the caller's is sampled), one without starts a trace at
/// the sampling ratio. Only a request that is traced gets a span (Ingest's source, kind server, a child of the
/// caller's span), named and described with the OpenTelemetry HTTP conventions once it is answered:
/// <c>POST /v1/topics/{topic}</c>, method, path, route, status. Probes, metrics scrapes and status polls are not traced.
/// <para>
/// Not ASP.NET Core's own request activity: listening to it makes the host build tags and call the sampler on
/// every request, sampled or not, which cost more CPU per request at 1 % sampling than the target allows
/// (bench/README.md, Traces). ASP.NET Core keeps its activity for log scopes, as without tracing.
/// </para>
/// </summary>
internal static class RequestSpans
{
    public static IApplicationBuilder UseRequestSpans(this IApplicationBuilder app, double ratio) => app.Use(next => context =>
        IsTraced(context.Request, ratio, out var caller) ? TracedAsync(next, context, caller) : next(context));

    /// <summary>Whether to trace the request, and the caller's span context (default when it starts a trace).</summary>
    internal static bool IsTraced(HttpRequest request, double ratio, out ActivityContext caller)
    {
        caller = default;
        var path = request.Path;
        if (!path.StartsWithSegments("/v1", StringComparison.Ordinal) || path.StartsWithSegments("/v1/status", StringComparison.Ordinal))
        {
            return false;
        }

        if (request.Headers.TryGetValue(FrameHeaders.TraceParent, out var sent) && sent.Count == 1 && IngestTracing.TryParse(sent[0], out caller))
        {
            return (caller.TraceFlags & ActivityTraceFlags.Recorded) != 0;
        }

        return ratio >= 1 || (ratio > 0 && Random.Shared.NextDouble() < ratio);
    }

    private static async Task TracedAsync(RequestDelegate next, HttpContext context, ActivityContext caller)
    {
        var request = context.Request;
        Activity.Current = null; // ASP.NET Core's activity is for log scopes; the span's parent is the caller's, or none
        using var span = IngestTracing.Source.StartActivity(request.Method, ActivityKind.Server, caller);
        if (span is null)
        {
            await next(context);
            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            var status = context.Response.StatusCode;
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
            span.DisplayName = route is null ? request.Method : request.Method + " " + route;
            span.SetTag("http.request.method", request.Method)
                .SetTag("url.scheme", request.Scheme)
                .SetTag("url.path", request.Path.Value)
                .SetTag("http.route", route)
                .SetTag("http.response.status_code", status);
            if (status >= 500)
            {
                span.SetStatus(ActivityStatusCode.Error);
            }
        }
    }
}
