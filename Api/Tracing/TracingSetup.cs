using Ingest.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Ingest.Api.Tracing;

/// <summary>
/// Tracing for a node, only when <see cref="TracingSettings.Enabled"/>: the HTTP request span (<see cref="RequestSpans"/>,
/// which continues an incoming <c>traceparent</c>), Ingest's own spans (<see cref="IngestTracing"/>), the
/// <see cref="TraceSampler"/>, and the OTLP exporter, which reads the other standard <c>OTEL_*</c> settings itself
/// (protocol, headers, timeout, batch delay, service name and resource attributes).
/// </summary>
internal static class TracingSetup
{
    public static void AddIngestTracing(this IServiceCollection services, TracingSettings settings, string serviceName)
    {
        services.AddSingleton(settings);
        if (!settings.Enabled)
        {
            return; // no tracer: no span is ever created, nothing is sent
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing => tracing
                .SetSampler(new TraceSampler())
                .AddSource(IngestTracing.SourceName)
                .AddOtlpExporter());
    }
}
