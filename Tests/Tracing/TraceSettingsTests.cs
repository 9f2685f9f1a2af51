using System.Diagnostics;
using Ingest.Api.Parsing;
using Ingest.Api.Tracing;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Ingest.Records;
using Microsoft.Extensions.Configuration;
using OpenTelemetry.Trace;

namespace Ingest.Tests.Tracing;

public sealed class TraceSettingsTests
{
    private static readonly ActivityTraceId Trace = ActivityTraceId.CreateFromString("4bf92f3577b34da6a3ce929d0e0e4736");
    private static readonly ActivitySpanId Span = ActivitySpanId.CreateFromString("00f067aa0ba902b7");

    private static TracingSettings From(params (string Key, string Value)[] settings) =>
        TracingSettings.From(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

    [Fact]
    public void tracing_is_on_only_with_an_otlp_endpoint_and_not_with_the_exporter_set_to_none()
    {
        Assert.False(From().Enabled);
        Assert.False(From(("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")).Enabled);
        Assert.True(From(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")).Enabled);
        Assert.True(From(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/v1/traces")).Enabled);
        Assert.False(From(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), ("OTEL_TRACES_EXPORTER", "none")).Enabled);
    }

    [Fact]
    public void the_ratio_comes_from_tracing_sample_ratio_else_the_standard_sampler_argument_else_one()
    {
        Assert.Equal(1, From().SampleRatio);
        Assert.Equal(0.01, From(("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.01")).SampleRatio);
        Assert.Equal(1, From(("OTEL_TRACES_SAMPLER", "always_on"), ("OTEL_TRACES_SAMPLER_ARG", "0.01")).SampleRatio);
        Assert.Equal(0.5, From(("Tracing:SampleRatio", "0.5"), ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "0.01")).SampleRatio);
        var invalid = Assert.Throws<InvalidSettingException>(() => From(("Tracing:SampleRatio", "2")));
        Assert.Contains("Tracing:SampleRatio must be a sampling ratio from 0 to 1 (was '2')", invalid.Message);
    }

    [Fact]
    public void the_sampler_follows_a_parent_then_any_sampled_link_and_takes_a_request_span_the_middleware_started()
    {
        var sampler = new TraceSampler();
        var sampledParent = new ActivityContext(Trace, Span, ActivityTraceFlags.Recorded);
        var unsampledParent = new ActivityContext(Trace, Span, ActivityTraceFlags.None);

        Assert.Equal(SamplingDecision.RecordAndSample, sampler.ShouldSample(Parameters(sampledParent)).Decision);
        Assert.Equal(SamplingDecision.Drop, sampler.ShouldSample(Parameters(unsampledParent, kind: ActivityKind.Server)).Decision);
        Assert.Equal(SamplingDecision.RecordAndSample, sampler.ShouldSample(Parameters(default, [new ActivityLink(unsampledParent), new ActivityLink(sampledParent)])).Decision);
        Assert.Equal(SamplingDecision.Drop, sampler.ShouldSample(Parameters(default, [new ActivityLink(unsampledParent)])).Decision);
        Assert.Equal(SamplingDecision.Drop, sampler.ShouldSample(Parameters(default)).Decision); // a root that is not a request
        Assert.Equal(SamplingDecision.RecordAndSample, sampler.ShouldSample(Parameters(default, kind: ActivityKind.Server)).Decision);
    }

    private static SamplingParameters Parameters(ActivityContext parent, IEnumerable<ActivityLink>? links = null, ActivityKind kind = ActivityKind.Internal) =>
        new(parent, ActivityTraceId.CreateRandom(), "span", kind, links: links);

    [Theory]
    [InlineData("/v1/topics/a", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0.0, true)] // the caller sampled it
    [InlineData("/v1/topics/a", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", 1.0, false)] // the caller did not
    [InlineData("/v1/topics/a/batch", null, 1.0, true)] // a new trace at ratio 1
    [InlineData("/v1/topics/a", null, 0.0, false)] // a new trace at ratio 0
    [InlineData("/v1/topics/a", "garbage", 0.0, false)] // an invalid header starts a new trace, at the ratio
    [InlineData("/v1/admin/replay", null, 1.0, true)]
    [InlineData("/v1/status", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 1.0, false)]
    [InlineData("/healthz", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 1.0, false)]
    [InlineData("/metrics", null, 1.0, false)]
    public void a_request_is_traced_when_its_caller_sampled_it_or_it_starts_a_trace_within_the_ratio_and_never_a_probe(string path, string? traceParent, double ratio, bool traced)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Path = path;
        if (traceParent is not null)
        {
            context.Request.Headers["traceparent"] = traceParent;
        }

        Assert.Equal(traced, RequestSpans.IsTraced(context.Request, ratio, out var caller));
        if (traced)
        {
            Assert.Equal(traceParent is null ? default : Span, caller.SpanId); // a child of the caller's span, or a new trace
        }
    }

    [Theory]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true)]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true)]
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01", false)] // all-zero trace id
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false)] // all-zero span id
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false)] // upper case
    [InlineData("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false)] // a version this reader does not know
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", false)]
    [InlineData("not a trace", false)]
    public void only_a_well_formed_version_00_traceparent_is_kept(string value, bool valid) =>
        Assert.Equal(valid, IngestTracing.IsTraceParent(value));

    [Fact]
    public void a_request_with_trace_context_only_stores_its_traceparent_and_is_not_an_idempotent_request()
    {
        var headers = new RequestHeaders(null, "ignored-without-a-key", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", indexed: true);
        Span<byte> block = stackalloc byte[headers.MaxBlockLength];
        block = block[..headers.WriteBlock(block, 3)];

        Assert.Null(headers.Scope);
        Assert.Null(headers.RouteKey);
        var view = new FrameHeaders.Reader(block);
        Assert.True(view.TryGet(FrameHeaders.TraceParentUtf8, out var value));
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", System.Text.Encoding.ASCII.GetString(value));
        Assert.False(view.TryGet(FrameHeaders.IdempotencyIndexUtf8, out _));
        Assert.False(view.TryGet(FrameHeaders.ProducerUtf8, out _));
    }

    [Fact]
    public void a_request_with_a_key_and_trace_context_stores_both_and_each_record_its_index()
    {
        var headers = new RequestHeaders("k-1", "shop", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", indexed: true);
        Span<byte> block = stackalloc byte[headers.MaxBlockLength];
        block = block[..headers.WriteBlock(block, 7)];

        var view = new FrameHeaders.Reader(block);
        Assert.Equal("shop\nk-1", headers.Scope);
        Assert.True(view.TryGet(FrameHeaders.IdempotencyKeyUtf8, out var key) && key.SequenceEqual("k-1"u8));
        Assert.True(view.TryGet(FrameHeaders.TraceParentUtf8, out _));
        Assert.True(view.TryGet(FrameHeaders.IdempotencyIndexUtf8, out var index) && index.SequenceEqual("7"u8));
    }
}
