using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Ingest.Tests.Infrastructure;

/// <summary>
/// An OTLP/HTTP trace receiver (<c>POST /v1/traces</c>, protobuf) on a loopback port: it answers as a collector does
/// and keeps every span it was sent, decoded from the wire format by <see cref="OtlpSpans"/>. It also counts every
/// request that reached it, whatever its path, so a test can say nothing was sent.
/// </summary>
public sealed class OtlpReceiver : IDisposable
{
    private readonly LoopbackHttpServer _server;
    private int _requests;

    public OtlpReceiver(int? port = null) => _server = new LoopbackHttpServer(ReceiveAsync, port);

    public int Port => _server.Port;

    /// <summary>What <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set to (the exporter adds <c>/v1/traces</c>).</summary>
    public string Endpoint => _server.Origin;

    public ConcurrentQueue<OtlpSpan> Spans { get; } = new();

    /// <summary>Requests of any kind that reached this port.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public IEnumerable<OtlpSpan> OfTrace(string traceId) => Spans.Where(s => s.TraceId == traceId);

    private async Task ReceiveAsync(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        if (context.Request.Url?.AbsolutePath == "/v1/traces")
        {
            foreach (var span in OtlpSpans.Decode(body.ToArray()))
            {
                Spans.Enqueue(span);
            }
        }

        context.Response.ContentType = "application/x-protobuf";
        context.Response.StatusCode = 200; // an empty ExportTraceServiceResponse: everything accepted
    }

    public void Dispose() => _server.Dispose();
}

/// <summary>One exported span: ids as lower-case hex, its attributes as text, its links, and the service that sent it.</summary>
public sealed record OtlpSpan(
    string Service,
    string TraceId,
    string SpanId,
    string ParentSpanId,
    string Name,
    int Kind,
    IReadOnlyDictionary<string, string> Attributes,
    IReadOnlyList<(string TraceId, string SpanId)> Links,
    int StatusCode)
{
    public bool LinksTo(string traceId, string spanId) => Links.Contains((traceId, spanId));

    public override string ToString() => $"{Service} {Name} {TraceId}/{SpanId} parent {ParentSpanId} links [{string.Join(", ", Links.Select(l => l.TraceId + "/" + l.SpanId))}]";
}

/// <summary>
/// Reads an OTLP <c>ExportTraceServiceRequest</c> from protobuf's wire format, only the fields a test looks at:
/// resource_spans(1) → resource(1) attributes / scope_spans(2) → spans(2) → trace_id(1), span_id(2),
/// parent_span_id(4), name(5), kind(6), attributes(9), links(13), status(15).
/// </summary>
public static class OtlpSpans
{
    public static List<OtlpSpan> Decode(byte[] request)
    {
        var spans = new List<OtlpSpan>();
        foreach (var (field, resourceSpans) in Fields(request))
        {
            if (field != 1)
            {
                continue;
            }

            var service = "";
            foreach (var (part, value) in Fields(resourceSpans))
            {
                if (part == 1)
                {
                    service = Attributes(value, attributeField: 1).GetValueOrDefault("service.name", "");
                }
            }

            foreach (var (part, scopeSpans) in Fields(resourceSpans))
            {
                if (part != 2)
                {
                    continue;
                }

                foreach (var (scopeField, span) in Fields(scopeSpans))
                {
                    if (scopeField == 2)
                    {
                        spans.Add(Span(service, span));
                    }
                }
            }
        }

        return spans;
    }

    private static OtlpSpan Span(string service, ReadOnlyMemory<byte> span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        var kind = 0;
        var status = 0;
        var links = new List<(string, string)>();
        foreach (var (field, value, number) in FieldsWithNumbers(span))
        {
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(value.Span); break;
                case 2: spanId = Convert.ToHexStringLower(value.Span); break;
                case 4: parent = Convert.ToHexStringLower(value.Span); break;
                case 5: name = Encoding.UTF8.GetString(value.Span); break;
                case 6: kind = (int)number; break;
                case 13:
                    string linkTrace = "", linkSpan = "";
                    foreach (var (linkField, linkValue) in Fields(value))
                    {
                        if (linkField == 1) linkTrace = Convert.ToHexStringLower(linkValue.Span);
                        if (linkField == 2) linkSpan = Convert.ToHexStringLower(linkValue.Span);
                    }

                    links.Add((linkTrace, linkSpan));
                    break;
                case 15:
                    foreach (var (statusField, _, code) in FieldsWithNumbers(value))
                    {
                        if (statusField == 3) status = (int)code;
                    }

                    break;
            }
        }

        return new OtlpSpan(service, traceId, spanId, parent, name, kind, Attributes(span, attributeField: 9), links, status);
    }

    /// <summary>The KeyValue entries of a message at <paramref name="attributeField"/>, values as text.</summary>
    private static Dictionary<string, string> Attributes(ReadOnlyMemory<byte> message, int attributeField)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var (field, keyValue) in Fields(message))
        {
            if (field != attributeField)
            {
                continue;
            }

            string key = "", text = "";
            foreach (var (part, value) in Fields(keyValue))
            {
                if (part == 1)
                {
                    key = Encoding.UTF8.GetString(value.Span);
                }
                else if (part == 2)
                {
                    foreach (var (kind, any, number) in FieldsWithNumbers(value))
                    {
                        text = kind switch
                        {
                            1 => Encoding.UTF8.GetString(any.Span),
                            2 => (number != 0).ToString(),
                            3 => ((long)number).ToString(System.Globalization.CultureInfo.InvariantCulture),
                            4 => BitConverter.Int64BitsToDouble((long)number).ToString(System.Globalization.CultureInfo.InvariantCulture),
                            _ => text,
                        };
                    }
                }
            }

            attributes[key] = text;
        }

        return attributes;
    }

    private static IEnumerable<(int Field, ReadOnlyMemory<byte> Value)> Fields(ReadOnlyMemory<byte> message) =>
        FieldsWithNumbers(message).Select(f => (f.Field, f.Value));

    /// <summary>Every field of a message: length-delimited ones as bytes, varints and fixed ones as a number.</summary>
    private static IEnumerable<(int Field, ReadOnlyMemory<byte> Value, ulong Number)> FieldsWithNumbers(ReadOnlyMemory<byte> message)
    {
        var at = 0;
        while (at < message.Length)
        {
            var tag = Varint(message.Span, ref at);
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    yield return (field, default, Varint(message.Span, ref at));
                    break;
                case 1:
                    yield return (field, default, BitConverter.ToUInt64(message.Span.Slice(at, 8)));
                    at += 8;
                    break;
                case 2:
                    var length = (int)Varint(message.Span, ref at);
                    yield return (field, message.Slice(at, length), 0);
                    at += length;
                    break;
                case 5:
                    yield return (field, default, BitConverter.ToUInt32(message.Span.Slice(at, 4)));
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"protobuf wire type {tag & 7} of field {field} is not one OTLP uses");
            }
        }
    }

    private static ulong Varint(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
