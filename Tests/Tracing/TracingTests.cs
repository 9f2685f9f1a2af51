using System.Net;
using System.Net.Sockets;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Process;

namespace Ingest.Tests.Tracing;

/// <summary>
/// One event followed end to end, in a silo process with its development Kafka broker: the spans reach an OTLP/HTTP
/// receiver the test runs, and kcat reads the trace context on the record in Kafka. And with no OTLP endpoint set,
/// nothing is exported and nothing is attempted.
/// </summary>
[Collection(nameof(ProcessTests))]
public sealed class TracingTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string CallerSpanId = "00f067aa0ba902b7";
    private const string CallerTraceParent = $"00-{TraceId}-{CallerSpanId}-01";

    [Fact]
    public async Task a_post_with_a_traceparent_is_followed_through_request_append_commit_and_kafka_delivery_and_its_record_carries_the_trace_into_kafka()
    {
        using var receiver = new OtlpReceiver();
        using var data = new TempDirectory("ingest-traced");
        var kafkaPort = Ports.Free();
        var environment = SiloEnvironment.For(data.Path);
        environment["Kafka__Enabled"] = "true";
        environment["DevKafka__Port"] = kafkaPort.ToString();
        foreach (var (name, value) in ReadmeTracingVariables())
        {
            environment[name] = value.Replace("http://collector:4318", receiver.Endpoint, StringComparison.Ordinal);
        }

        Assert.Equal(receiver.Endpoint, environment["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "200"; // export within 0.2 s, not the default 5 s
        environment["Tracing__SampleRatio"] = "0"; // overrides the README's 0.01: only requests that arrive sampled are traced
        await using var silo = HostProcess.Start("Silo", environment);
        await silo.WaitReadyAsync();

        using var traced = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/traced") { Content = new StringContent("""{"traced":true}""") };
        traced.Headers.Add("traceparent", CallerTraceParent);
        Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.SendAsync(traced)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync("/v1/topics/traced", new StringContent("""{"traced":false}"""))).StatusCode);

        OtlpSpan? request = null, append = null, commit = null, deliver = null;
        await Poll.Until(
            () =>
            {
                request = receiver.OfTrace(TraceId).FirstOrDefault(s => s.ParentSpanId == CallerSpanId);
                append = request is null ? null : receiver.Spans.FirstOrDefault(s => s.Name == "ingest.append" && s.LinksTo(TraceId, request.SpanId));
                commit = append is null ? null : receiver.Spans.FirstOrDefault(s => s.Name == "ingest.commit" && s.LinksTo(append.TraceId, append.SpanId));
                deliver = request is null ? null : receiver.Spans.FirstOrDefault(s => s.Name == "ingest.deliver" && s.LinksTo(TraceId, request.SpanId));
                return deliver is not null && commit is not null;
            },
            TimeSpan.FromSeconds(30),
            () => "the request span (child of the caller's), an append span linked to it, a commit span linked to the append and a delivery span linked to the request; received: "
                + string.Join("; ", receiver.Spans));

        Assert.Equal("ingest-silo", request!.Service);
        Assert.Equal(2, request.Kind); // SERVER
        Assert.Equal("/v1/topics/{topic}", request.Attributes["http.route"]);
        Assert.Equal("202", request.Attributes["http.response.status_code"]);
        // Spans that serve many requests have no parent of their own (not even the first request's): links only.
        Assert.All(new[] { append!, commit!, deliver! }, span => Assert.Equal("", span.ParentSpanId));
        Assert.NotEqual(TraceId, append!.TraceId);
        Assert.Equal("traced", append!.Attributes["ingest.topic"]);
        Assert.Equal("1", append.Attributes["ingest.records"]);
        Assert.Equal("Appended", append.Attributes["ingest.outcome"]);
        Assert.Equal("flush", commit!.Attributes["ingest.durability"]);
        Assert.EndsWith(".active", commit.Attributes["ingest.segment"]);
        Assert.Equal("traced", deliver!.Attributes["messaging.destination.name"]);
        Assert.Equal("1", deliver.Attributes["ingest.records"]);
        Assert.True(deliver.Attributes.ContainsKey("ingest.kafka.first_offset"), "the delivery span says where Kafka put the record");
        // The untraced request (no traceparent, ratio 0) made no span of its own.
        Assert.Single(receiver.Spans, s => s.Name.StartsWith("POST", StringComparison.Ordinal) && s.Kind == 2);

        // In Kafka, read by kcat: the traced record continues the request's span; the other carries no trace header.
        List<string> consumed = [];
        await Poll.Until(async () => (consumed = await Kcat.ConsumeAsync($"127.0.0.1:{kafkaPort}", "traced", "%s\t%h\n")).Count == 2,
            TimeSpan.FromSeconds(30), "kcat to read both records of 'traced'");
        var tracedLine = Assert.Single(consumed, line => line.StartsWith("""{"traced":true}""", StringComparison.Ordinal));
        Assert.Contains($"traceparent=00-{TraceId}-{request.SpanId}-01", tracedLine);
        var plainLine = Assert.Single(consumed, line => line.StartsWith("""{"traced":false}""", StringComparison.Ordinal));
        Assert.DoesNotContain("traceparent", plainLine);
    }

    [Fact]
    public async Task with_no_otlp_endpoint_nothing_is_exported_or_attempted_and_a_callers_traceparent_still_reaches_the_record()
    {
        Assert.True(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is null, "the test runner itself must not set OTEL_EXPORTER_OTLP_ENDPOINT");
        // The exporter's default destinations: OTLP/HTTP on 4318, OTLP/gRPC on 4317.
        using var http = new OtlpReceiver(port: 4318);
        using var grpc = new TcpListener(IPAddress.Loopback, 4317);
        grpc.Start();
        var grpcConnections = 0;
        var accepting = AcceptAll(grpc, () => Interlocked.Increment(ref grpcConnections));
        using var data = new TempDirectory("ingest-untraced");
        var environment = SiloEnvironment.For(data.Path);
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"; // the other settings alone switch nothing on
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "100";
        await using (var silo = HostProcess.Start("Silo", environment))
        {
            await silo.WaitReadyAsync();
            using var traced = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/untraced") { Content = new StringContent("{}") };
            traced.Headers.Add("traceparent", CallerTraceParent);
            Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.SendAsync(traced)).StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync("/v1/topics/untraced", new StringContent("[]"))).StatusCode);

            // Stopping is when a tracer would have flushed whatever it held, at the latest (the exporter's shutdown sends
            // and waits for the answer): after a clean stop, the receivers' counts are final.
            await silo.TerminateAsync(TimeSpan.FromSeconds(30));
        }

        Assert.Equal(0, http.Requests);
        Assert.Equal(0, Volatile.Read(ref grpcConnections));
        grpc.Stop();
        await accepting;

        // Ingest did not trace, but the caller's context is kept with its record, as sent; the other record has no headers.
        var records = StoredRecords.Read(data.Path, "untraced").Concat(StoredRecords.ReadArchive(data.Path, "untraced")).ToList();
        Assert.Equal(CallerTraceParent, Assert.Single(records, r => r.ValueText == "{}").Header("traceparent"));
        Assert.Null(Assert.Single(records, r => r.ValueText == "[]").Header("traceparent"));
    }

    /// <summary>The <c>OTEL_*=value</c> settings of the README block marked <c>tracing: switch-on</c>, as a user would run them.</summary>
    private static List<(string Name, string Value)> ReadmeTracingVariables()
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
        var marker = readme.IndexOf("<!-- tracing: switch-on -->", StringComparison.Ordinal);
        Assert.True(marker >= 0, "README.md has a block marked tracing: switch-on");
        var start = readme.IndexOf("```sh\n", marker, StringComparison.Ordinal) + "```sh\n".Length;
        var block = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        var variables = System.Text.RegularExpressions.Regex.Matches(block, @"(OTEL_[A-Z_]+)=(\S+)").Select(m => (m.Groups[1].Value, m.Groups[2].Value)).ToList();
        Assert.Contains("dotnet run --project Silo", block);
        return variables;
    }

    private static async Task AcceptAll(TcpListener listener, Action accepted)
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync();
                accepted();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // stopped
        }
    }
}
