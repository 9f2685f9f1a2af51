using System.Collections.Concurrent;
using System.Net;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ingest.Tests.Http;

/// <summary>
/// Browser keys: a producer key with <c>origins</c> works only from its pages, and only such a key may travel in the
/// URL (<c>?apiKey=</c>, for sendBeacon); a page reads 201 for <c>durability=kafka</c>. In a real headless Chromium.
/// </summary>
public sealed class BrowserKeyTests(BrowserKeyTests.KeyedSilo silo) : IClassFixture<BrowserKeyTests.KeyedSilo>
{
    [Fact]
    public async Task a_page_beacons_with_its_browser_key_in_the_url_and_reads_201_for_durability_kafka()
    {
        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(silo.Page.Origin + "/page.html"));
        var api = silo.BaseAddress.ToString().TrimEnd('/');

        var beacon = (await browser.EvaluateAsync($$"""
            navigator.sendBeacon('{{api}}/v1/topics/keyed-beacon/batch?apiKey={{KeyedSilo.BrowserKey}}', '{"beacon":1}\n')
            """))?.ToString();
        var kafka = (await browser.EvaluateAsync($$"""
            fetch('{{api}}/v1/topics/keyed-kafka?durability=kafka', { method: 'POST', headers: { 'x-api-key': '{{KeyedSilo.BrowserKey}}', 'content-type': 'application/json' }, body: '{"sure":true}' })
              .then(async r => r.status + ' ' + await r.text())
            """))?.ToString();

        Assert.Equal("true", beacon);
        Assert.StartsWith("""201 {"accepted":1,"durability":"kafka","partition":""", kafka);
        var answer = System.Text.Json.JsonDocument.Parse(kafka![4..]).RootElement;
        Assert.Equal("""{"sure":true}""", await Kcat.ReadAtAsync(silo.Kafka.BootstrapServers, "keyed-kafka", answer.GetProperty("partition").GetInt32(), answer.GetProperty("offset").GetInt64()));
        await Poll.Until(async () => (await Kcat.ConsumeAsync(silo.Kafka.BootstrapServers, "keyed-beacon")).Count == 1, TimeSpan.FromSeconds(30), "the beacon's record in Kafka");
        Assert.DoesNotContain(silo.Logged, line => line.Contains(KeyedSilo.BrowserKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task a_browser_key_from_another_origin_or_without_one_gets_403_and_a_server_key_in_the_url_gets_401()
    {
        using var foreign = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/keyed-refused") { Content = new StringContent("{}") };
        foreign.Headers.Add("Origin", "http://elsewhere.example");
        foreign.Headers.Add("X-Api-Key", KeyedSilo.BrowserKey);
        using var noOrigin = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/keyed-refused") { Content = new StringContent("{}") };
        noOrigin.Headers.Add("X-Api-Key", KeyedSilo.BrowserKey);

        var fromElsewhere = await silo.Http.SendAsync(foreign);
        var withoutOrigin = await silo.Http.SendAsync(noOrigin);
        var serverKeyInUrl = await silo.Http.PostAsync($"/v1/topics/keyed-refused?apiKey={KeyedSilo.ServerKey}", new StringContent("{}"));
        using var serverKey = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/keyed-server") { Content = new StringContent("{}") };
        serverKey.Headers.Add("X-Api-Key", KeyedSilo.ServerKey);
        var server = await silo.Http.SendAsync(serverKey);

        Assert.Equal(HttpStatusCode.Forbidden, fromElsewhere.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, withoutOrigin.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, serverKeyInUrl.StatusCode);
        Assert.Contains("browser key", await serverKeyInUrl.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, server.StatusCode); // the server key in a header: as before
        Assert.DoesNotContain(silo.Logged, line => line.Contains(KeyedSilo.ServerKey, StringComparison.Ordinal) || line.Contains(KeyedSilo.BrowserKey, StringComparison.Ordinal));
    }

    /// <summary>Forwarding to Kafka, with a browser key for one page origin and a server key; every log line kept.</summary>
    public sealed class KeyedSilo : KafkaSilo
    {
        public const string BrowserKey = "ik_browser_0123456789abcdef";
        public const string ServerKey = "ik_server_fedcba9876543210";

        public BrowserSenderTests.PageServer Page { get; } = new();

        public ConcurrentQueue<string> Logged { get; } = new();

        protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
        [
            new("Auth:Keys:web:Key", BrowserKey),
            new("Auth:Keys:web:Origins:0", Page.Origin),
            new("Auth:Keys:backend:Key", ServerKey),
            new("Logging:LogLevel:Ingest", "Debug"),
        ];

        protected override void ConfigureServices(IServiceCollection services)
        {
            base.ConfigureServices(services);
            services.AddSingleton<ILoggerProvider>(new Recorder(Logged));
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            Page.Dispose();
        }

        private sealed class Recorder(ConcurrentQueue<string> lines) : ILoggerProvider, ILogger
        {
            public ILogger CreateLogger(string categoryName) => this;

            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception) + " " + exception);

            public void Dispose()
            {
            }
        }
    }
}
