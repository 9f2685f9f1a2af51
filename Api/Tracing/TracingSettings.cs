using System.Globalization;
using Ingest.Configuration;
using Microsoft.Extensions.Configuration;

namespace Ingest.Api.Tracing;

/// <summary>
/// Whether this node traces, read from the standard OpenTelemetry variables: on when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>) is set and <c>OTEL_TRACES_EXPORTER</c>
/// is not <c>none</c>; off otherwise, and then no span is created and nothing is sent anywhere. The ratio for requests
/// that start a trace: <c>Tracing:SampleRatio</c>, else <c>OTEL_TRACES_SAMPLER_ARG</c> (with
/// <c>OTEL_TRACES_SAMPLER=parentbased_traceidratio</c>), else 1.
/// </summary>
internal sealed record TracingSettings(bool Enabled, double SampleRatio)
{
    public const string SampleRatioKey = "Tracing:SampleRatio";

    public static TracingSettings From(IConfiguration configuration)
    {
        var endpoint = configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] ?? configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var exporter = configuration["OTEL_TRACES_EXPORTER"];
        var enabled = !string.IsNullOrWhiteSpace(endpoint) && !string.Equals(exporter, "none", StringComparison.OrdinalIgnoreCase);
        return new TracingSettings(enabled, RatioOf(configuration));
    }

    private static double RatioOf(IConfiguration configuration)
    {
        var (text, from) = configuration[SampleRatioKey] is { } own
            ? (own, SampleRatioKey)
            : configuration["OTEL_TRACES_SAMPLER"] is "parentbased_traceidratio" or "traceidratio" && configuration["OTEL_TRACES_SAMPLER_ARG"] is { } standard
                ? (standard, "OTEL_TRACES_SAMPLER_ARG")
                : ("1", "the default");
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var ratio) || ratio is < 0 or > 1 || double.IsNaN(ratio))
        {
            throw new InvalidSettingException($"{from} must be a sampling ratio from 0 to 1 (was '{text}').");
        }

        return ratio;
    }
}
