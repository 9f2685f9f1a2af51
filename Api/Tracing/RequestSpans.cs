using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ingest.Api.Tracing;

/// <summary>
/// Names and describes ASP.NET Core's request span (its <c>Microsoft.AspNetCore</c> source, which continues an incoming
/// <c>traceparent</c>) with the OpenTelemetry HTTP server conventions: <c>POST /v1/topics/{topic}</c>, method, path,
/// route, status. Only for a span that is recorded, once the request is answered; an unsampled request costs one check.
/// Probes, metrics scrapes and status polls are never exported (their span is marked unrecorded).
/// This is what OpenTelemetry's ASP.NET Core instrumentation does through DiagnosticSource events on every request,
/// sampled or not, at a cost the 1 % sampling benchmark showed (bench/README.md, Traces).
/// </summary>
internal static class RequestSpans
{
    public static IApplicationBuilder UseRequestSpans(this IApplicationBuilder app) => app.Use(next => context =>
        Activity.Current is { IsAllDataRequested: true } span ? DescribedAsync(next, context, span) : next(context));

    private static async Task DescribedAsync(RequestDelegate next, HttpContext context, Activity span)
    {
        var request = context.Request;
        if (!IsTraced(request.Path))
        {
            span.IsAllDataRequested = false;
            span.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
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

    /// <summary>Ingest, replay and admin requests are traced; probes, metrics and the status page's polls are not.</summary>
    private static bool IsTraced(PathString path) =>
        path.StartsWithSegments("/v1", StringComparison.Ordinal) && !path.StartsWithSegments("/v1/status", StringComparison.Ordinal);
}
