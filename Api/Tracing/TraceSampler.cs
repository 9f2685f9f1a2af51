using System.Diagnostics;
using OpenTelemetry.Trace;

namespace Ingest.Api.Tracing;

/// <summary>
/// Parent-based sampling that also follows links: a span with a parent does what its parent did; a span without one
/// (Ingest's append, commit and delivery spans, which serve many requests) is sampled when any request it links to
/// was; a request that starts a trace is sampled at the configured ratio (by trace id, so every host agrees).
/// </summary>
internal sealed class TraceSampler(double ratio) : Sampler
{
    private static readonly SamplingResult Sampled = new(SamplingDecision.RecordAndSample);
    private static readonly SamplingResult NotSampled = new(SamplingDecision.Drop);

    private readonly TraceIdRatioBasedSampler _roots = new(ratio);

    public double Ratio => ratio;

    public override SamplingResult ShouldSample(in SamplingParameters parameters)
    {
        if (parameters.ParentContext.TraceId != default)
        {
            return (parameters.ParentContext.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? Sampled : NotSampled;
        }

        if (parameters.Links is { } links)
        {
            foreach (var link in links)
            {
                if ((link.Context.TraceFlags & ActivityTraceFlags.Recorded) != 0)
                {
                    return Sampled;
                }
            }
        }

        return _roots.ShouldSample(parameters);
    }
}
