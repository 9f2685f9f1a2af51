using System.Net;
using System.Text;
using Ingest.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Tests.Http;

/// <summary>
/// Web pages as senders, in a real headless Chromium: a page on an allowed origin sends with fetch (preflighted),
/// sendBeacon and a gzip body made by CompressionStream; a page on another origin gets nothing stored.
/// </summary>
public sealed class BrowserSenderTests(BrowserSenderTests.CorsSilo silo) : IClassFixture<BrowserSenderTests.CorsSilo>
{
    [Fact]
    public async Task a_page_on_an_allowed_origin_sends_with_fetch_beacon_and_gzip_and_reads_its_answers()
    {
        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(silo.AllowedPage.Origin + "/page.html"));
        var api = silo.BaseAddress.ToString().TrimEnd('/');

        // JSON is not a "simple" content type: the browser sends a preflight first.
        var fetched = await Evaluate(browser, $$"""
            fetch('{{api}}/v1/topics/web-fetch', { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'page-1' }, body: '{"from":"fetch"}' })
              .then(async r => r.status + ' ' + (await r.text()) + ' ' + r.headers.get('Idempotent-Replayed'))
            """);
        var again = await Evaluate(browser, $$"""
            fetch('{{api}}/v1/topics/web-fetch', { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'page-1' }, body: '{"from":"fetch"}' })
              .then(r => r.status + ' ' + r.headers.get('Idempotent-Replayed'))
            """);
        var beacon = await Evaluate(browser, $$"""
            navigator.sendBeacon('{{api}}/v1/topics/web-beacon/batch', '{"b":1}\n{"b":2}\n')
            """);
        var gzipped = await Evaluate(browser, $$"""
            (async () => {
              const body = await new Response(new Blob(['{"zipped":true}']).stream().pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
              const r = await fetch('{{api}}/v1/topics/web-gzip', { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
              return r.status;
            })()
            """);

        Assert.Equal("""202 {"accepted":1,"durability":"flush"} null""", fetched);
        Assert.Equal("202 true", again); // the exposed header is readable by the page
        Assert.Equal("true", beacon);
        Assert.Equal("202", gzipped);
        Assert.Equal(["""{"from":"fetch"}"""], silo.Records("web-fetch").Select(r => r.ValueText));
        Assert.Equal(["""{"zipped":true}"""], silo.Records("web-gzip").Select(r => r.ValueText));
        await Poll.Until(() => silo.Records("web-beacon").Count == 2, TimeSpan.FromSeconds(10), "the beacon's two NDJSON records (sent as text/plain) to be stored");
    }

    [Fact]
    public async Task the_readmes_web_page_example_runs_as_written_from_an_allowed_page()
    {
        var example = ReadmeExample("send-from-a-page").Replace("https://ingest.example.com", silo.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal);
        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(silo.AllowedPage.Origin + "/page.html"));

        var results = await Evaluate(browser, "(async () => {\n" + example + "\nreturn [await send('readme-send', { a: 1 }), beacon('readme-beacon', [{ b: 1 }, { b: 2 }]), await sendGzip('readme-gzip', [{ g: 1 }, { g: 2 }, { g: 3 }])].join(' ');\n})()");

        Assert.Equal("202 true 202", results);
        Assert.Equal(["{\"a\":1}"], silo.Records("readme-send").Select(r => r.ValueText));
        Assert.NotNull(silo.Records("readme-send")[0].Header("idempotency-key")); // crypto.randomUUID() as the key
        Assert.Equal(["{\"g\":1}", "{\"g\":2}", "{\"g\":3}"], silo.Records("readme-gzip").Select(r => r.ValueText));
        await Poll.Until(() => silo.Records("readme-beacon").Count == 2, TimeSpan.FromSeconds(10), "the README beacon's two records");
    }

    /// <summary>The code of the README block marked <c>&lt;!-- browser: name --&gt;</c>.</summary>
    private static string ReadmeExample(string name)
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
        var marker = readme.IndexOf($"<!-- browser: {name} -->", StringComparison.Ordinal);
        Assert.True(marker >= 0, $"README.md has a block marked browser: {name}");
        var start = readme.IndexOf("```js\n", marker, StringComparison.Ordinal) + "```js\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }

    [Fact]
    public async Task a_page_on_another_origin_cannot_send_its_preflighted_fetch_fails_and_its_no_cors_post_gets_403()
    {
        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(silo.ForeignPage.Origin + "/page.html"));
        var api = silo.BaseAddress.ToString().TrimEnd('/');
        var refusedBefore = await Refused403();
        silo.Seen.Clear();

        var preflighted = await Evaluate(browser, $$"""
            fetch('{{api}}/v1/topics/web-foreign', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"foreign":1}' })
              .then(r => 'answered ' + r.status, e => 'failed ' + e.name)
            """);
        // A "simple" request: no preflight, the browser sends it and hides the answer (opaque).
        var simple = await Evaluate(browser, $$"""
            fetch('{{api}}/v1/topics/web-foreign', { method: 'POST', mode: 'no-cors', body: '{"foreign":2}' }).then(r => r.type)
            """);
        var beacon = await Evaluate(browser, $$"""
            navigator.sendBeacon('{{api}}/v1/topics/web-foreign/batch', '{"foreign":3}\n')
            """);

        Assert.Equal("failed TypeError", preflighted);
        Assert.Equal("opaque", simple);
        Assert.Equal("true", beacon); // queued by the browser; the server refuses it
        // The simple POST and the beacon reached the server and were refused (403), not lost in the browser.
        await Poll.Until(
            () => silo.Seen.Count(r => r.Method == "POST" && r.Origin == silo.ForeignPage.Origin && r.Status == 403) == 2,
            TimeSpan.FromSeconds(20),
            () => "the simple POST and the beacon from the foreign page answered 403; the server saw: " + string.Join("; ", silo.Seen));
        await Poll.Until(async () => await Refused403() >= refusedBefore + 2, TimeSpan.FromSeconds(10), "the two 403s counted as refused for a forbidden origin");
        Assert.Empty(silo.Records("web-foreign"));
    }

    [Fact]
    public async Task a_preflight_from_an_allowed_origin_says_what_a_page_may_send_and_one_from_another_origin_gets_403()
    {
        using var allowed = new HttpRequestMessage(HttpMethod.Options, "/v1/topics/any/batch");
        allowed.Headers.Add("Origin", silo.AllowedPage.Origin);
        allowed.Headers.Add("Access-Control-Request-Method", "POST");
        using var foreign = new HttpRequestMessage(HttpMethod.Options, "/v1/topics/any");
        foreign.Headers.Add("Origin", silo.ForeignPage.Origin);

        var yes = await silo.Http.SendAsync(allowed);
        var no = await silo.Http.SendAsync(foreign);

        Assert.Equal(HttpStatusCode.NoContent, yes.StatusCode);
        Assert.Equal(silo.AllowedPage.Origin, Assert.Single(yes.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal("Origin", Assert.Single(yes.Headers.Vary));
        Assert.Equal("POST", Assert.Single(yes.Headers.GetValues("Access-Control-Allow-Methods")));
        Assert.Contains("idempotency-key", Assert.Single(yes.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.Ordinal);
        Assert.Equal("600", Assert.Single(yes.Headers.GetValues("Access-Control-Max-Age")));
        Assert.Equal(HttpStatusCode.Forbidden, no.StatusCode);
        Assert.False(no.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task a_request_without_an_origin_is_taken_as_before_and_one_with_a_foreign_origin_gets_403_while_its_neighbour_is_stored()
    {
        using var foreign = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/web-mixed") { Content = new StringContent("{\"foreign\":true}") };
        foreign.Headers.Add("Origin", silo.ForeignPage.Origin);

        var refused = await silo.Http.SendAsync(foreign);
        var plain = await silo.Http.PostAsync("/v1/topics/web-mixed", new StringContent("{\"curl\":true}"));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Accepted, plain.StatusCode);
        Assert.False(plain.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal(["{\"curl\":true}"], silo.Records("web-mixed").Select(r => r.ValueText));
    }

    private async Task<double> Refused403()
    {
        var metrics = await PrometheusText.ScrapeAsync(silo.Http);
        return metrics.Value("ingest_requests_rejected_total", ("topic", "web-foreign"), ("reason", "forbidden"));
    }

    private static async Task<string> Evaluate(Chromium browser, string expression) =>
        (await browser.EvaluateAsync(expression))?.ToString() ?? "null";

    /// <summary>A silo that allows pages of one origin; two tiny page servers: that origin, and another.</summary>
    public sealed class CorsSilo : InProcessSilo
    {
        public PageServer AllowedPage { get; } = new();

        public PageServer ForeignPage { get; } = new();

        /// <summary>Every request the silo answered, as the server saw it: what a browser really sent is not a guess.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<SeenRequest> Seen { get; } = new();

        protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Cors:AllowedOrigins:0", AllowedPage.Origin)];

        protected override void ConfigureServices(IServiceCollection services) =>
            services.AddSingleton<IStartupFilter>(new SeenRequests(Seen));

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            AllowedPage.Dispose();
            ForeignPage.Dispose();
        }
    }

    public sealed record SeenRequest(string Method, string Path, string? Origin, int Status);

    /// <summary>Notes each request once it is answered, ahead of everything else in the pipeline.</summary>
    private sealed class SeenRequests(System.Collections.Concurrent.ConcurrentQueue<SeenRequest> seen) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, inner) =>
            {
                await inner(context);
                var request = context.Request;
                seen.Enqueue(new SeenRequest(request.Method, request.Path, request.Headers.Origin.FirstOrDefault(), context.Response.StatusCode));
            });
            next(app);
        };
    }

    /// <summary>Serves one empty HTML page on a loopback port of its own: an origin for the browser to run scripts in.</summary>
    public sealed class PageServer : IDisposable
    {
        private static readonly byte[] Page = Encoding.UTF8.GetBytes("<!doctype html><title>sender</title><p>a page that sends events</p>");

        private readonly LoopbackHttpServer _server = new(async context =>
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.OutputStream.WriteAsync(Page);
        });

        public string Origin => _server.Origin;

        public void Dispose() => _server.Dispose();
    }
}
