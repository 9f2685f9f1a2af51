using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Http;

/// <summary>A silo with small limits, so "too large" is cheap to send.</summary>
public sealed class SmallLimitsSilo : InProcessSilo
{
    public const int MaxRecordBytes = 1024;
    public const int MaxRequestBytes = 64 * 1024;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Ingest:MaxRecordBytes", MaxRecordBytes.ToString()),
        new("Ingest:MaxRequestBytes", MaxRequestBytes.ToString()),
    ];
}

public sealed class BadInputTests(SmallLimitsSilo silo) : IClassFixture<SmallLimitsSilo>
{
    public static TheoryData<string> Cases => new(BadRequests.Keys);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task bad_input_gets_its_status_as_problem_json_stores_nothing_and_a_neighbour_loses_nothing(string name)
    {
        var (expected, topic, send) = BadRequests[name];
        var neighbourTopic = $"neighbour-{Math.Abs(name.GetHashCode()):x}";
        using var start = new SemaphoreSlim(0);
        // The neighbour is another client: its own connections, as another user's would be.
        using var neighbourHttp = new HttpClient { BaseAddress = silo.BaseAddress };
        var neighbour = Task.Run(async () =>
        {
            await start.WaitAsync();
            var accepted = 0;
            for (var i = 0; i < 50; i++)
            {
                var r = await neighbourHttp.PostAsync($"/v1/topics/{neighbourTopic}", new StringContent($$"""{"i":{{i}}}"""));
                accepted += r.StatusCode == HttpStatusCode.Accepted ? 1 : 0;
            }

            return accepted;
        });

        start.Release();
        var response = await send(silo.Http);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        if (topic is not null)
        {
            Assert.Empty(silo.Records(topic));
        }

        Assert.Equal(50, await neighbour);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $$"""{"i":{{i}}}"""), silo.Records(neighbourTopic).Select(r => r.ValueText));
    }

    [Fact]
    public async Task malformed_batches_name_what_is_wrong()
    {
        var array = await silo.Http.PostAsync("/v1/topics/detail/batch", Json("""[{"a":1},{"b":]"""));
        var line = await silo.Http.PostAsync("/v1/topics/detail/batch", Ndjson("{\"a\":1}\n{\"b\":2}\nnot json\n"));
        var gzip = await silo.Http.PostAsync("/v1/topics/detail/batch", Gzipped(Ndjson("{}"), corrupt: true));

        Assert.Contains("element 1", await Detail(array));
        Assert.Contains("Line 3", await Detail(line));
        Assert.Contains("gzip", await Detail(gzip));
    }

    [Fact]
    public async Task a_dot_dot_topic_never_reaches_a_topic_or_a_path()
    {
        foreach (var target in new[] { "/v1/topics/..", "/v1/topics/%2e%2e", "/v1/topics/%2e%2e%2f%2e%2e%2fetc", "/v1/topics/." })
        {
            var status = await RawPost(silo.BaseAddress, target, "x");

            Assert.InRange(status, 400, 499);
        }

        // Nothing was created beside the segments and configuration folders, and no topic named by dots exists.
        Assert.DoesNotContain(Directory.GetFileSystemEntries(silo.DataDirectory), p => Path.GetFileName(p) is not ("segments" or "config") && !Path.GetFileName(p).StartsWith('.'));
        Assert.DoesNotContain(Directory.GetDirectories(Path.Combine(silo.DataDirectory, "segments")), p => Path.GetFileName(p).StartsWith('.'));
    }

    private static async Task<string> Detail(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()!;

    private static readonly Dictionary<string, (HttpStatusCode Expected, string? Topic, Func<HttpClient, Task<HttpResponseMessage>> Send)> BadRequests = new()
    {
        ["topic with a space"] = (HttpStatusCode.BadRequest, null, h => h.PostAsync("/v1/topics/bad%20topic", Text("x"))),
        ["topic with a dollar"] = (HttpStatusCode.BadRequest, null, h => h.PostAsync("/v1/topics/bad$", Text("x"))),
        ["topic of 250 characters"] = (HttpStatusCode.BadRequest, null, h => h.PostAsync("/v1/topics/" + new string('t', 250), Text("x"))),
        ["topic with an encoded slash"] = (HttpStatusCode.BadRequest, null, h => h.PostAsync("/v1/topics/a%2Fb", Text("x"))),
        ["empty single record"] = (HttpStatusCode.BadRequest, "empty-one", h => h.PostAsync("/v1/topics/empty-one", Text(""))),
        ["empty batch"] = (HttpStatusCode.BadRequest, "empty-batch", h => h.PostAsync("/v1/topics/empty-batch/batch", Ndjson(""))),
        ["blank-lines-only batch"] = (HttpStatusCode.BadRequest, "blank-batch", h => h.PostAsync("/v1/topics/blank-batch/batch", Ndjson("\n\n  \n"))),
        ["malformed json array"] = (HttpStatusCode.BadRequest, "bad-array", h => h.PostAsync("/v1/topics/bad-array/batch", Json("""[{"a":1},{"b":]"""))),
        ["json object instead of array"] = (HttpStatusCode.BadRequest, "not-array", h => h.PostAsync("/v1/topics/not-array/batch", Json("""{"a":1}"""))),
        ["trailing data after the array"] = (HttpStatusCode.BadRequest, "trailing", h => h.PostAsync("/v1/topics/trailing/batch", Json("""[1,2] 3"""))),
        ["deeply nested json"] = (HttpStatusCode.BadRequest, "nested", h => h.PostAsync("/v1/topics/nested/batch", Json("[" + new string('[', 500) + new string(']', 500) + "]"))),
        ["ndjson line that is not json, after valid lines"] = (HttpStatusCode.BadRequest, "half-bad", h => h.PostAsync("/v1/topics/half-bad/batch", Ndjson("{\"a\":1}\n{\"b\":2}\nnot json\n"))),
        ["ndjson line with invalid utf-8"] = (HttpStatusCode.BadRequest, "bad-utf8", h => h.PostAsync("/v1/topics/bad-utf8/batch", Bytes([.. "{\"a\":\""u8, 0xC3, 0x28, .. "\"}\n"u8], "application/x-ndjson"))),
        ["corrupt gzip batch"] = (HttpStatusCode.BadRequest, "bad-gzip", h => h.PostAsync("/v1/topics/bad-gzip/batch", Gzipped(Ndjson("{\"a\":1}\n"), corrupt: true))),
        ["corrupt gzip single record"] = (HttpStatusCode.BadRequest, "bad-gzip-one", h => h.PostAsync("/v1/topics/bad-gzip-one", Gzipped(Text("abc"), corrupt: true))),
        ["single record over MaxRecordBytes"] = (HttpStatusCode.RequestEntityTooLarge, "big-one", h => h.PostAsync("/v1/topics/big-one", Text(new string('x', SmallLimitsSilo.MaxRecordBytes + 1)))),
        ["ndjson line over MaxRecordBytes"] = (HttpStatusCode.RequestEntityTooLarge, "big-line", h => h.PostAsync("/v1/topics/big-line/batch", Ndjson("{}\n\"" + new string('x', SmallLimitsSilo.MaxRecordBytes) + "\"\n"))),
        ["batch over MaxRequestBytes"] = (HttpStatusCode.RequestEntityTooLarge, "big-batch", h => h.PostAsync("/v1/topics/big-batch/batch", Ndjson(string.Concat(Enumerable.Repeat("{\"a\":\"" + new string('y', 500) + "\"}\n", 200))))),
        ["gzip bomb"] = (HttpStatusCode.RequestEntityTooLarge, "bomb", h => h.PostAsync("/v1/topics/bomb/batch", Gzipped(Ndjson(new string(' ', 50 * 1024 * 1024)), corrupt: false))),
        ["key over MaxRecordBytes"] = (HttpStatusCode.RequestEntityTooLarge, "big-key", h => h.PostAsync("/v1/topics/big-key?key=" + new string('k', SmallLimitsSilo.MaxRecordBytes + 1), Text("x"))),
        ["batch as text/xml"] = (HttpStatusCode.UnsupportedMediaType, "plain", h => h.PostAsync("/v1/topics/plain/batch", new StringContent("<a/>", Encoding.UTF8, "text/xml"))),
        ["batch without a content type"] = (HttpStatusCode.UnsupportedMediaType, "no-type", h => h.PostAsync("/v1/topics/no-type/batch", Bytes("{}"u8.ToArray(), null))),
        ["brotli content encoding"] = (HttpStatusCode.UnsupportedMediaType, "brotli", h => h.PostAsync("/v1/topics/brotli", WithEncoding(Text("x"), "br"))),
        ["GET on a topic"] = (HttpStatusCode.MethodNotAllowed, null, h => h.GetAsync("/v1/topics/method")),
        ["PUT on a batch"] = (HttpStatusCode.MethodNotAllowed, null, h => h.PutAsync("/v1/topics/method/batch", Ndjson("{}"))),
    };

    private static HttpContent Text(string s) => new StringContent(s, Encoding.UTF8, "text/plain");

    private static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");

    private static HttpContent Ndjson(string s) => new StringContent(s, Encoding.UTF8, "application/x-ndjson");

    private static HttpContent Bytes(byte[] bytes, string? contentType)
    {
        var content = new ByteArrayContent(bytes);
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return content;
    }

    private static HttpContent WithEncoding(HttpContent content, string encoding)
    {
        content.Headers.ContentEncoding.Add(encoding);
        return content;
    }

    private static HttpContent Gzipped(HttpContent inner, bool corrupt)
    {
        var raw = inner.ReadAsByteArrayAsync().GetAwaiter().GetResult();
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(raw);
        }

        var bytes = compressed.ToArray();
        if (corrupt)
        {
            // Damage the deflate stream after the 10-byte gzip header.
            for (var i = 10; i < Math.Min(bytes.Length - 8, 30); i++)
            {
                bytes[i] ^= 0x5A;
            }
        }

        var content = Bytes(bytes, inner.Headers.ContentType?.ToString());
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }

    /// <summary>Sends a request line exactly as given: HttpClient would normalise the dots away.</summary>
    private static async Task<int> RawPost(Uri server, string target, string body)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        var request = $"POST {target} HTTP/1.1\r\nHost: {server.Authority}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync() ?? string.Empty;
        return int.Parse(statusLine.Split(' ')[1]);
    }
}
