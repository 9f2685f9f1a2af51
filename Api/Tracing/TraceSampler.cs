using System.Diagnostics;
using OpenTelemetry.Trace;

namespace Ingest.Api.Tracing;

/// <summary>
/// Parent-based sampling that also follows links. A span with a parent does what its parent did; a span without one
/// is either a request span, started only once <see cref="RequestSpans"/> decided to trace the request (the ratio
/// for new traces is applied there, before anything is allocated), or one of Ingest's spans that serve many requests
/// (append, commit, delivery), sampled when any request it links to was.
/// </summary>
internal sealed class TraceSampler : Sampler
{
    private static readonly SamplingResult Sampled = new(SamplingDecision.RecordAndSample);
    private static readonly SamplingResult NotSampled = new(SamplingDecision.Drop);

    public override SamplingResult ShouldSample(in SamplingParameters parameters)
    {
        if (parameters.ParentContext.TraceId != default)
        {
            return (parameters.ParentContext.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? Sampled : NotSampled;
        }

        if (parameters.Links is not { } links)
        {
            return parameters.Kind == ActivityKind.Server ? Sampled : NotSampled;
        }

        foreach (var link in links)
        {
            if ((link.Context.TraceFlags & ActivityTraceFlags.Recorded) != 0)
            {
                return Sampled;
            }
        }

        return NotSampled;
    }
}
