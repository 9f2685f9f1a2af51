using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Http;

public sealed class AppendTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    [Fact]
    public async Task a_record_answered_202_is_in_the_segment_byte_for_byte_with_its_key()
    {
        // Not UTF-8, not JSON, with a NUL and a newline: raw bytes are kept as they are.
        var body = new byte[] { 0xFF, 0x00, 0x0A, 0xC3, 0x28, 0x7B, 0x7D, 0x80 };
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var response = await silo.Http.PostAsync("/v1/topics/bytes?key=user-42", new ByteArrayContent(body));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("""{"accepted":1,"durability":"flush"}""", await response.Content.ReadAsStringAsync());
        var record = Assert.Single(silo.Records("bytes"));
        Assert.Equal(body, record.Value);
        Assert.Equal("user-42", record.KeyText);
        Assert.InRange(record.TimestampMs, before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task a_record_without_a_key_is_stored_with_no_key()
    {
        var response = await silo.Http.PostAsync("/v1/topics/no-key", new StringContent("""{"a":1}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var record = Assert.Single(silo.Records("no-key"));
        Assert.Null(record.Key);
        Assert.Equal("""{"a":1}""", record.ValueText);
    }

    [Fact]
    public async Task a_batch_of_10000_ndjson_records_lands_complete_and_in_order()
    {
        var lines = Enumerable.Range(0, 10_000).Select(i => $$"""{"seq":{{i}},"pad":"{{new string('x', i % 50)}}"}""").ToList();
        var content = new StringContent(string.Join("\n", lines) + "\n", Encoding.UTF8, "application/x-ndjson");

        var response = await silo.Http.PostAsync("/v1/topics/ndjson-10k/batch?key=k", content);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("""{"accepted":10000,"durability":"flush"}""", await response.Content.ReadAsStringAsync());
        var stored = silo.Records("ndjson-10k");
        Assert.Equal(lines, stored.Select(r => r.ValueText));
        Assert.All(stored, r => Assert.Equal("k", r.KeyText));
    }

    [Fact]
    public async Task a_gzipped_json_array_lands_complete_and_in_order_with_each_element_as_its_text()
    {
        var elements = new List<string> { """{"a":1,"b":[1,2,{"c":null}]}""", "\"just a string\"", "42", "[1, 2, 3]", "true", "null" };
        elements.AddRange(Enumerable.Range(0, 994).Select(i => $$"""{"i":{{i}}}"""));
        var json = "[" + string.Join(",", elements) + "]";
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes(json));
        }

        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");

        var response = await silo.Http.PostAsync("/v1/topics/gzip-array/batch", content);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(1000, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(elements, silo.Records("gzip-array").Select(r => r.ValueText));
    }

    [Fact]
    public async Task ndjson_with_crlf_a_bom_and_blank_lines_stores_only_the_records()
    {
        var body = "\uFEFF{\"a\":1}\r\n\r\n  \n{\"b\":2}\r\n";
        var content = new StringContent(body, new UTF8Encoding(false), "application/x-ndjson");

        var response = await silo.Http.PostAsync("/v1/topics/crlf/batch", content);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(["""{"a":1}""", """{"b":2}"""], silo.Records("crlf").Select(r => r.ValueText));
    }

    [Fact]
    public async Task a_gzipped_single_record_is_stored_decompressed()
    {
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync("""{"zipped":true}"""u8.ToArray());
        }

        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentEncoding.Add("gzip");

        var response = await silo.Http.PostAsync("/v1/topics/gzip-one", content);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("""{"zipped":true}""", Assert.Single(silo.Records("gzip-one")).ValueText);
    }

    [Fact]
    public async Task health_is_ok_and_ready_says_why_in_json()
    {
        var health = await silo.Http.GetAsync("/healthz");
        var ready = await silo.Http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.Equal(1, body.GetProperty("silos").GetInt32());
        Assert.Equal(1, body.GetProperty("placesOn").GetInt32()); // its own grain manifest: it places topics on itself
    }
}
