using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Operations;

/// <summary>A forwarding silo with two seeded producer keys (one rate-limited) and a 1 KiB record limit.</summary>
public sealed class MetricsSilo : KafkaSilo
{
    public const string Key = "metrics-key-0123456789";
    public const string SlowKey = "metrics-slow-key-0123456789";

    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Ingest:MaxRecordBytes", "1024"),
        new("Auth:Keys:main:Key", Key),
        new("Auth:Keys:main:Topics:0", "metered"),
        new("Auth:Keys:slow:Key", SlowKey),
        new("Auth:Keys:slow:Topics:0", "metered-slow"),
        new("Auth:Keys:slow:RecordsPerSecond", "0.01"),
    ];
}

[Collection(nameof(MetricsCollection))]
public sealed class MetricsTests(MetricsSilo silo) : IClassFixture<MetricsSilo>
{
    private const string Topic = "metered";

    [Fact]
    public async Task metrics_count_the_traffic_exactly_and_the_backlog_rises_in_a_kafka_outage_and_returns_to_zero()
    {
        silo.Kafka.CreateTopic(Topic, partitions: 2);
        silo.Kafka.CreateTopic("metered-slow", partitions: 1);

        // Accepted: 5 single records and 2 batches of 10.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await Post($"/v1/topics/{Topic}", $$"""{"single":{{i}}}""", MetricsSilo.Key));
        }

        for (var b = 0; b < 2; b++)
        {
            var batch = string.Join("\n", Enumerable.Range(0, 10).Select(i => $$"""{"batch":{{b}},"i":{{i}}}""")) + "\n";
            Assert.Equal(HttpStatusCode.Accepted, await Post($"/v1/topics/{Topic}/batch", batch, MetricsSilo.Key, "application/x-ndjson"));
        }

        // Refused, one reason each (counts in brackets): bad request (2), too large (1), no key (1),
        // a topic the key may not write (1), over the rate (2 of 3 for a key allowed one record).
        Assert.Equal(HttpStatusCode.BadRequest, await Post($"/v1/topics/{Topic}/batch", "not json\n", MetricsSilo.Key, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.BadRequest, await Post($"/v1/topics/{Topic}/batch", "[1,", MetricsSilo.Key, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await Post($"/v1/topics/{Topic}", new string('x', 2000), MetricsSilo.Key));
        Assert.Equal(HttpStatusCode.Unauthorized, await Post($"/v1/topics/{Topic}", "{}", null));
        Assert.Equal(HttpStatusCode.Forbidden, await Post("/v1/topics/not-granted", "{}", MetricsSilo.Key));
        var rated = new[] { await Post("/v1/topics/metered-slow", "{}", MetricsSilo.SlowKey), await Post("/v1/topics/metered-slow", "{}", MetricsSilo.SlowKey), await Post("/v1/topics/metered-slow", "{}", MetricsSilo.SlowKey) };
        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], rated);

        await Poll.Until(async () => (await PrometheusText.ScrapeAsync(silo.Http)).Value("ingest_records_shipped_total", ("topic", Topic)) == 25,
            TimeSpan.FromSeconds(30), "25 records of 'metered' shipped");
        var metrics = await PrometheusText.ScrapeAsync(silo.Http);
        Assert.Equal(25, metrics.Value("ingest_records_received_total", ("topic", Topic)));
        Assert.Equal(25, metrics.Value("ingest_records_accepted_total", ("topic", Topic)));
        Assert.Equal(25, metrics.Value("ingest_records_appended_total", ("topic", Topic)));
        Assert.Equal(7, metrics.Value("ingest_ack_duration_seconds_count", ("topic", Topic))); // one per request answered 202
        Assert.Equal(25, metrics.Value("ingest_kafka_delivery_duration_seconds_count", ("topic", Topic)));
        Assert.Equal(metrics.Value("ingest_bytes_appended_bytes_total", ("topic", Topic)), metrics.Value("ingest_bytes_shipped_bytes_total", ("topic", Topic)));
        Assert.Equal(2, metrics.Value("ingest_requests_rejected_total", ("topic", Topic), ("reason", "bad_request")));
        Assert.Equal(1, metrics.Value("ingest_requests_rejected_total", ("topic", Topic), ("reason", "too_large")));
        Assert.Equal(1, metrics.Value("ingest_requests_rejected_total", ("topic", Topic), ("reason", "auth")));
        Assert.Equal(1, metrics.Value("ingest_requests_rejected_total", ("topic", "not-granted"), ("reason", "forbidden")));
        Assert.Equal(2, metrics.Value("ingest_requests_rejected_total", ("topic", "metered-slow"), ("reason", "rate")));
        Assert.Equal(7, metrics.Value("ingest_requests_rejected_total"));
        Assert.Equal(0, metrics.Value("ingest_backlog_records", ("topic", Topic)));
        Assert.True(metrics.Value("ingest_disk_used_bytes") > 0 && metrics.Value("ingest_disk_budget_bytes") > 0 && metrics.Has("ingest_disk_free_bytes"), "disk gauges are exported");

        // Kafka down (proven): the backlog counts what waits; readiness reports Kafka degraded but stays 200.
        silo.Kafka.SetBrokerDown();
        await silo.AssertKafkaUnreachableAsync();
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await Post($"/v1/topics/{Topic}", $$"""{"outage":{{i}}}""", MetricsSilo.Key));
        }

        await Poll.Until(async () => (await PrometheusText.ScrapeAsync(silo.Http)).Value("ingest_backlog_records", ("topic", Topic)) == 10,
            TimeSpan.FromSeconds(10), "the backlog gauge to show the 10 records written during the outage");
        var during = await PrometheusText.ScrapeAsync(silo.Http);
        Assert.True(during.Value("ingest_backlog_bytes", ("topic", Topic)) > 0, "backlog bytes rise during the outage");
        Assert.True(during.Value("ingest_backlog_oldest_age_seconds", ("topic", Topic)) >= 0.001, "the oldest unshipped record has an age");
        Assert.Equal(25, during.Value("ingest_records_shipped_total", ("topic", Topic)));
        await Poll.Until(async () => (await Readiness()).Kafka.StartsWith("degraded", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "/readyz to report Kafka degraded");
        var (status, kafka) = await Readiness();
        Assert.Equal(HttpStatusCode.OK, status);
        TestContext.Current.SendDiagnosticMessage($"readyz during the outage: 200, kafka = {kafka}");

        silo.Kafka.SetBrokerUp();
        await Poll.Until(async () => (await PrometheusText.ScrapeAsync(silo.Http)).Value("ingest_backlog_records", ("topic", Topic)) == 0, TimeSpan.FromSeconds(60),
            "the backlog to return to 0 once Kafka is back");
        var after = await PrometheusText.ScrapeAsync(silo.Http);
        Assert.Equal(35, after.Value("ingest_records_shipped_total", ("topic", Topic)));
        Assert.Equal(0, after.Value("ingest_backlog_bytes", ("topic", Topic)));
        Assert.Equal(0, after.Value("ingest_backlog_oldest_age_seconds", ("topic", Topic)));
        await Poll.Until(async () => (await Readiness()).Kafka == "up", TimeSpan.FromSeconds(10), "/readyz to report Kafka up again");
    }

    private async Task<HttpStatusCode> Post(string path, string body, string? key, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await silo.Http.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<(HttpStatusCode Status, string Kafka)> Readiness()
    {
        using var response = await silo.Http.GetAsync("/readyz");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (response.StatusCode, body.GetProperty("kafka").GetString() ?? "");
    }
}

/// <summary>
/// Tests that read <c>/metrics</c> run alone: OpenTelemetry's meter providers listen to meters by name in
/// the whole process, and of two in-process silos' instruments with one name a provider keeps only the
/// first. (In production each silo is its own process.)
/// </summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;
