using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Audit;

/// <summary>
/// The audit end to end, on a silo that forwards to the development broker: counts per hour, the
/// <c>ingest-id</c> every record carries to Kafka, and <c>verify</c> — which must find every acknowledged
/// record, and report as missing the ones the broker itself lost.
/// </summary>
public sealed class AuditTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task the_audit_counts_the_records_of_the_hour_and_verify_finds_every_acknowledged_one_in_kafka_once()
    {
        silo.Kafka.CreateTopic("audit-plain", partitions: 2);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync("/v1/topics/audit-plain", new StringContent($"{{\"n\":{i}}}"))).StatusCode);
        }

        var batch = string.Concat(Enumerable.Range(5, 10).Select(i => $"{{\"n\":{i}}}\n"));
        Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync("/v1/topics/audit-plain/batch", new StringContent(batch, Encoding.UTF8, "application/x-ndjson"))).StatusCode);

        var audit = await AckedAsync("audit-plain", 15);
        var hour = Assert.Single(audit.GetProperty("hours").EnumerateArray());
        Assert.Equal(DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH", System.Globalization.CultureInfo.InvariantCulture), hour.GetProperty("hour").GetDateTimeOffset().ToString("yyyy-MM-ddTHH", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal((15, 15, 15, 0, 0), (N(hour, "accepted"), N(hour, "stored"), N(hour, "acked"), N(hour, "pending"), N(hour, "sentAgain")));
        var offsets = hour.GetProperty("offsets").EnumerateArray().ToList();
        Assert.Equal(15, offsets.Sum(o => N(o, "last") - N(o, "first") + 1)); // a fresh topic: the ranges hold exactly these records

        // kcat, a client independent of ours, sees an ingest-id on every record, each one different.
        var ids = await Kcat.ConsumeAsync(silo.Kafka.BootstrapServers, "audit-plain", "%h\n");
        Assert.Equal(15, ids.Select(h => h.Split(',').Single(p => p.StartsWith("ingest-id=", StringComparison.Ordinal))).Distinct().Count());

        var verified = await VerifyAsync("audit-plain");
        Assert.Equal((0, 15, 0), (N(verified, "missing"), N(verified.GetProperty("hours")[0], "found"), N(verified, "extraCopies")));
    }

    [Fact]
    public async Task records_the_broker_evicted_after_acknowledging_them_are_reported_missing_in_their_hour()
    {
        // The development broker keeps about 5 MiB per partition and silently drops older data: ~8 MiB of
        // records that do not compress go into one partition.
        silo.Kafka.CreateTopic("audit-evicted", partitions: 1);
        const int Batches = 8;
        const int PerBatch = 1000;
        for (var b = 0; b < Batches; b++)
        {
            var lines = string.Concat(Enumerable.Range(0, PerBatch).Select(_ => $"\"{Convert.ToBase64String(RandomNumberGenerator.GetBytes(768))}\"\n"));
            Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync("/v1/topics/audit-evicted/batch", new StringContent(lines, Encoding.UTF8, "application/x-ndjson"))).StatusCode);
        }

        await AckedAsync("audit-evicted", Batches * PerBatch);
        var evicted = LowWatermark(silo.Kafka.BootstrapServers, "audit-evicted");
        Assert.True(evicted > 0, "the broker evicted the oldest records (its low watermark moved past offset 0)");

        var verified = await VerifyAsync("audit-evicted");
        var hour = Assert.Single(verified.GetProperty("hours").EnumerateArray());
        Assert.Equal(evicted, N(verified, "missing"));
        Assert.Equal((Batches * PerBatch, Batches * PerBatch - evicted, evicted), (N(hour, "acked"), N(hour, "found"), N(hour, "missing")));
        Assert.Equal(DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH", System.Globalization.CultureInfo.InvariantCulture), hour.GetProperty("hour").GetDateTimeOffset().ToString("yyyy-MM-ddTHH", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task a_window_that_is_not_one_gets_400_and_the_neighbours_audit_still_answers()
    {
        var backwards = await silo.Http.GetAsync("/v1/admin/audit/audit-plain?from=2026-12-02&to=2026-12-01");
        var garbage = await silo.Http.GetAsync("/v1/admin/audit/audit-plain?from=yesterday");
        var topic = await silo.Http.GetAsync("/v1/admin/audit/no%20such");
        var fine = await silo.Http.GetAsync("/v1/admin/audit/audit-neighbour");

        Assert.Equal(HttpStatusCode.BadRequest, backwards.StatusCode);
        Assert.Equal("application/problem+json", backwards.Content.Headers.ContentType?.MediaType);
        Assert.Contains("must be after", await backwards.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, topic.StatusCode);
        Assert.Equal(HttpStatusCode.OK, fine.StatusCode);
        Assert.Empty(JsonDocument.Parse(await fine.Content.ReadAsStringAsync()).RootElement.GetProperty("hours").EnumerateArray());
    }

    /// <summary>Polls the audit until <paramref name="records"/> are acknowledged, and returns it.</summary>
    private async Task<JsonElement> AckedAsync(string topic, long records)
    {
        var audit = default(JsonElement);
        await Poll.Until(
            async () => N((audit = JsonDocument.Parse(await silo.Http.GetStringAsync($"/v1/admin/audit/{topic}")).RootElement).GetProperty("total"), "acked") == records,
            TimeSpan.FromSeconds(60),
            () => $"the audit of {topic} to count {records} records acknowledged by Kafka; it says {audit}");
        return audit;
    }

    private async Task<JsonElement> VerifyAsync(string topic)
    {
        var response = await silo.Http.GetAsync($"/v1/admin/audit/{topic}/verify");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    private static long N(JsonElement element, string name) => element.GetProperty(name).GetInt64();

    private static long LowWatermark(string bootstrap, string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "audit-test" }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, new Partition(0)), TimeSpan.FromSeconds(10)).Low.Value;
    }
}
