using System.Net;
using System.Text;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Http;

/// <summary>
/// Hostile HTTP, each case sent while a well-behaved neighbour posts 30 records on its own connections:
/// the hostile request gets its refusal (or its connection closed) and stores nothing; every one of the
/// neighbour's records gets 202 and is stored. Kestrel limits in force (README "Configuration"):
/// headers 32 KiB in total, at most 100 headers, 10 s to send them; request bodies at least 240 B/s after
/// a 5 s grace; bodies up to Ingest:MaxRequestBytes, counted also when there is no Content-Length.
/// </summary>
public sealed class HostileInputTests(SmallLimitsSilo silo) : IClassFixture<SmallLimitsSilo>
{
    public static TheoryData<string> Cases => new(Attacks.Keys);

    private static readonly Dictionary<string, Func<Uri, Task<(string Outcome, string? Topic)>>> Attacks = new()
    {
        ["slow-loris headers"] = async server =>
        {
            using var raw = await RawHttp.ConnectAsync(server);
            await raw.TryWriteAsync("POST /v1/topics/loris HTTP/1.1\r\nHost: x\r\n");
            // One header byte every 500 ms: never finishing the headers. Kestrel gives up after 10 s.
            var started = DateTime.UtcNow;
            while (DateTime.UtcNow - started < TimeSpan.FromSeconds(20))
            {
                if (!await raw.TryWriteAsync("X") || await raw.ClosedWithinAsync(TimeSpan.FromMilliseconds(500)))
                {
                    return ("closed", "loris");
                }
            }

            return ("still open after 20 s", "loris");
        },
        ["slow-loris body"] = async server =>
        {
            using var raw = await RawHttp.ConnectAsync(server);
            await raw.TryWriteAsync("POST /v1/topics/slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n");
            var started = DateTime.UtcNow;
            // 10 bytes a second, far under the 240 B/s minimum rate.
            while (DateTime.UtcNow - started < TimeSpan.FromSeconds(20))
            {
                if (!await raw.TryWriteAsync("xxxxxxxxxx") || await raw.ClosedWithinAsync(TimeSpan.FromSeconds(1)))
                {
                    return ("closed", "slow-body");
                }
            }

            return ("still open after 20 s", "slow-body");
        },
        ["oversized headers"] = async server => (await Status(server, $"POST /v1/topics/big-header HTTP/1.1\r\nHost: x\r\nX-Big: {new string('h', 40 * 1024)}\r\nContent-Length: 2\r\n\r\n{{}}"), "big-header"),
        ["thousands of headers"] = async server => (await Status(server, "POST /v1/topics/many-headers HTTP/1.1\r\nHost: x\r\n"
            + string.Concat(Enumerable.Range(0, 2000).Select(i => $"X-H{i}: v\r\n")) + "Content-Length: 2\r\n\r\n{}"), "many-headers"),
        ["NUL in the topic"] = async server => (await Status(server, "POST /v1/topics/a%00b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"), null),
        ["absolute path as the topic"] = async server => (await Status(server, "POST /v1/topics/%2Fetc%2Fpasswd HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"), null),
        ["percent-encoded traversal"] = async server => (await Status(server, "POST /v1/topics/%2e%2e%2f%2e%2e%2fetc HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"), null),
        ["duplicate Content-Length"] = async server => (await Status(server, "POST /v1/topics/dup-length HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}xxx"), "dup-length"),
        ["100 MB chunked body without Content-Length"] = async server =>
        {
            using var raw = await RawHttp.ConnectAsync(server);
            await raw.TryWriteAsync("POST /v1/topics/endless/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n");
            var line = Encoding.ASCII.GetBytes("{\"a\":\"" + new string('z', 1000) + "\"}\n");
            var chunk = Encoding.ASCII.GetBytes($"{line.Length:x}\r\n").Concat(line).Concat("\r\n"u8.ToArray()).ToArray();
            long sent = 0;
            while (sent < 100L * 1024 * 1024 && await raw.TryWriteAsync(chunk))
            {
                sent += line.Length;
            }

            var status = await raw.ReadStatusAsync(TimeSpan.FromSeconds(10));
            Assert.True(sent < 10L * 1024 * 1024, $"the server stopped reading long before 100 MB (sent {sent} bytes)");
            return (status?.ToString() ?? "closed", "endless");
        },
    };

    public static readonly Dictionary<string, string[]> Expected = new()
    {
        ["slow-loris headers"] = ["closed"],
        ["slow-loris body"] = ["closed"],
        ["oversized headers"] = ["431"],
        ["thousands of headers"] = ["431"],
        ["NUL in the topic"] = ["400"],
        ["absolute path as the topic"] = ["400"],
        ["percent-encoded traversal"] = ["400"],
        ["duplicate Content-Length"] = ["400"],
        ["100 MB chunked body without Content-Length"] = ["413", "closed"],
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task a_hostile_request_is_refused_stores_nothing_and_a_neighbour_keeps_every_record(string name)
    {
        var neighbourTopic = $"calm-{Math.Abs(name.GetHashCode()):x}";
        using var neighbourHttp = new HttpClient { BaseAddress = silo.BaseAddress };
        var neighbour = Task.Run(async () =>
        {
            var accepted = 0;
            for (var i = 0; i < 30; i++)
            {
                var r = await neighbourHttp.PostAsync($"/v1/topics/{neighbourTopic}", new StringContent($$"""{"i":{{i}}}"""));
                accepted += r.StatusCode == HttpStatusCode.Accepted ? 1 : 0;
            }

            return accepted;
        });

        var (outcome, topic) = await Attacks[name](silo.BaseAddress);

        Assert.Contains(outcome, Expected[name]);
        if (topic is not null)
        {
            Assert.Empty(silo.Records(topic));
        }

        Assert.Equal(30, await neighbour);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $$"""{"i":{{i}}}"""), silo.Records(neighbourTopic).Select(r => r.ValueText));
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task an_http_1_0_client_and_ndjson_with_crlf_a_bom_and_blank_lines_are_served()
    {
        using (var raw = await RawHttp.ConnectAsync(silo.BaseAddress))
        {
            await raw.TryWriteAsync("POST /v1/topics/http10 HTTP/1.0\r\nContent-Length: 9\r\n\r\n{\"v\":1.0}");
            Assert.Equal(202, await raw.ReadStatusAsync(TimeSpan.FromSeconds(10)));
        }

        var body = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("{\"a\":1}\r\n\r\n{\"b\":2}\n\n\r\n{\"c\":3}\r\n")).ToArray();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/x-ndjson");
        using var response = await silo.Http.PostAsync("/v1/topics/crlf-bom/batch", content);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(["{\"v\":1.0}"], silo.Records("http10").Select(r => r.ValueText));
        Assert.Equal(["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"], silo.Records("crlf-bom").Select(r => r.ValueText));
    }

    private static async Task<string> Status(Uri server, string request)
    {
        using var raw = await RawHttp.ConnectAsync(server);
        await raw.TryWriteAsync(request);
        return (await raw.ReadStatusAsync(TimeSpan.FromSeconds(15)))?.ToString() ?? "closed";
    }
}
