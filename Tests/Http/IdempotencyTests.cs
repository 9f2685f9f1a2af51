using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Http;

/// <summary>Requests sent with an <c>Idempotency-Key</c>: a repeat within the window stores nothing and gets the first answer again.</summary>
public sealed class IdempotencyTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    [Fact]
    public async Task a_retried_record_with_the_same_idempotency_key_is_stored_once_and_the_retry_gets_the_first_answer_marked_replayed()
    {
        var key = Guid.NewGuid().ToString();

        var first = await Post("/v1/topics/idem-one", """{"order":1}""", key);
        var retry = await Post("/v1/topics/idem-one", """{"order":1}""", key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"), "the first answer is not a replay");
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        var stored = Assert.Single(silo.Records("idem-one"));
        Assert.Equal(key, stored.Header("idempotency-key"));
        Assert.Null(stored.Header("idempotency-index")); // a single record has no position to tell
    }

    [Fact]
    public async Task a_retried_batch_is_stored_once_and_each_of_its_records_carries_the_key_and_its_position()
    {
        var key = Guid.NewGuid().ToString();
        const string body = "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n";

        var first = await Post("/v1/topics/idem-batch/batch", body, key, "application/x-ndjson");
        var retry = await Post("/v1/topics/idem-batch/batch", body, key, "application/x-ndjson");

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(3, JsonDocument.Parse(await retry.Content.ReadAsStringAsync()).RootElement.GetProperty("accepted").GetInt32());
        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        var stored = silo.Records("idem-batch");
        Assert.Equal(["{\"n\":0}", "{\"n\":1}", "{\"n\":2}"], stored.Select(r => r.ValueText));
        Assert.All(stored, r => Assert.Equal(key, r.Header("idempotency-key")));
        Assert.Equal(["0", "1", "2"], stored.Select(r => r.Header("idempotency-index")));
    }

    [Fact]
    public async Task fifty_concurrent_requests_with_one_key_store_once_and_all_get_the_same_answer()
    {
        var key = Guid.NewGuid().ToString();

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Post("/v1/topics/idem-race", """{"once":true}""", key)));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Accepted, a.StatusCode));
        Assert.Equal(49, answers.Count(a => a.Headers.Contains("Idempotent-Replayed")));
        Assert.Single(silo.Records("idem-race"));
    }

    [Fact]
    public async Task the_same_key_on_another_topic_or_without_a_key_is_another_request()
    {
        var key = Guid.NewGuid().ToString();

        await Post("/v1/topics/idem-scope-a", "{}", key);
        var other = await Post("/v1/topics/idem-scope-b", "{}", key);
        await Post("/v1/topics/idem-scope-a", "{}", idempotencyKey: null);

        Assert.False(other.Headers.Contains("Idempotent-Replayed"));
        Assert.Single(silo.Records("idem-scope-b"));
        Assert.Equal(2, silo.Records("idem-scope-a").Count);
    }

    [Fact]
    public async Task a_beacon_gives_its_key_as_a_query_parameter()
    {
        var key = Guid.NewGuid().ToString();

        await silo.Http.PostAsync($"/v1/topics/idem-query?idempotencyKey={key}", new StringContent("{}"));
        var retry = await silo.Http.PostAsync($"/v1/topics/idem-query?idempotencyKey={key}", new StringContent("{}"));

        Assert.True(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Single(silo.Records("idem-query"));
    }

    [Fact]
    public async Task an_invalid_idempotency_key_gets_400_and_stores_nothing_while_its_neighbour_is_stored()
    {
        var neighbour = Post("/v1/topics/idem-neighbour", """{"fine":true}""", Guid.NewGuid().ToString());
        var bad = await Post("/v1/topics/idem-bad", "{}", "has spaces in it");
        var tooLong = await Post("/v1/topics/idem-bad", "{}", new string('k', 256));

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Idempotency-Key", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Empty(silo.Records("idem-bad"));
        Assert.Equal(HttpStatusCode.Accepted, (await neighbour).StatusCode);
        Assert.Single(silo.Records("idem-neighbour"));
    }

    internal static async Task<HttpResponseMessage> Post(HttpClient http, string path, string body, string? idempotencyKey, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }

        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private Task<HttpResponseMessage> Post(string path, string body, string? idempotencyKey, string contentType = "application/json") =>
        Post(silo.Http, path, body, idempotencyKey, contentType);
}

/// <summary>The idempotency key reaches Kafka with the record (read by kcat, a client independent of ours).</summary>
public sealed class IdempotencyKafkaTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task the_key_travels_to_kafka_as_a_record_header()
    {
        var key = Guid.NewGuid().ToString();

        Assert.Equal(HttpStatusCode.Accepted, (await Post("/v1/topics/idem-kafka", """{"to":"kafka"}""", key)).StatusCode);

        List<string> lines = [];
        await Poll.Until(async () => (lines = await Kcat.ConsumeAsync(silo.Kafka.BootstrapServers, "idem-kafka", "%h\t%s\n")).Count > 0,
            TimeSpan.FromSeconds(30), "the record in Kafka (read with kcat)");
        var (headers, value) = (lines[0].Split('\t')[0], lines[0].Split('\t')[1]);
        Assert.Equal("""{"to":"kafka"}""", value);
        Assert.Contains($"idempotency-key={key}", headers.Split(','));
        Assert.Contains(headers.Split(','), h => h.StartsWith("ingest-time=", StringComparison.Ordinal));
    }

    private Task<HttpResponseMessage> Post(string path, string body, string? idempotencyKey) =>
        IdempotencyTests.Post(silo.Http, path, body, idempotencyKey);
}

/// <summary>On a sharded topic an unkeyed request goes to the shards in turn; one with an idempotency key goes to the shard of its key, so its retries meet the grain that remembers it.</summary>
public sealed class ShardedIdempotencyTests(ShardedIdempotencyTests.ShardedSilo silo) : IClassFixture<ShardedIdempotencyTests.ShardedSilo>
{
    [Fact]
    public async Task retries_of_an_unkeyed_request_to_a_sharded_topic_are_stored_once()
    {
        var key = Guid.NewGuid().ToString();

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 8; i++)
        {
            answers.Add(await IdempotencyTests.Post(silo.Http, "/v1/topics/idem-sharded", """{"once":true}""", key));
        }

        await IdempotencyTests.Post(silo.Http, "/v1/topics/idem-sharded", """{"other":1}""", null);
        await IdempotencyTests.Post(silo.Http, "/v1/topics/idem-sharded", """{"other":2}""", null);
        Assert.Equal(7, answers.Count(a => a.Headers.Contains("Idempotent-Replayed")));
        var stored = Enumerable.Range(0, 4).SelectMany(shard => silo.Records(Ingest.Topics.TopicShards.GrainKey("idem-sharded", shard))).ToList();
        Assert.Single(stored, r => r.ValueText == """{"once":true}""");
        Assert.Equal(3, stored.Count); // and the two unkeyed requests without a key, as before
    }

    public sealed class ShardedSilo : InProcessSilo
    {
        protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Ingest:Shards:idem-sharded", "4")];
    }
}
