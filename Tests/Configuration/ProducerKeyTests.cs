using System.Net;
using Ingest.Configuration;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Configuration;

public sealed class ProducerKeyTests(ConfigSilo silo) : IClassFixture<ConfigSilo>
{
    // These tests are about what a key may do once it is in force; how fast a change reaches every node
    // (within a second) is ConfigPropagationTests' subject. A generous deadline keeps them steady on a busy host.
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task a_key_scoped_to_one_topic_writes_it_and_gets_403_on_another()
    {
        var (key, _) = await silo.Admin.CreateKeyAsync(new { name = "scoped", topics = new[] { "scope-a" } });

        await Poll.Until(async () => await Producer.PostAsync(silo.Http, "scope-a", key) == HttpStatusCode.Accepted, Propagation, "the new key to be accepted on its topic");
        Assert.Equal(HttpStatusCode.Forbidden, await Producer.PostAsync(silo.Http, "scope-b", key));
        Assert.Equal(HttpStatusCode.Accepted, await Producer.PostAsync(silo.Http, "scope-a", key, header: "X-Api-Key"));
        Assert.Equal(1 + 1, silo.Records("scope-a").Count);
        Assert.Empty(silo.Records("scope-b"));
    }

    [Fact]
    public async Task once_a_key_exists_requests_without_one_or_with_a_wrong_one_get_401()
    {
        var (key, _) = await silo.Admin.CreateKeyAsync(new { name = "any-topic" });
        await Poll.Until(async () => await Producer.PostAsync(silo.Http, "auth-on", null) == HttpStatusCode.Unauthorized, Propagation, "requests without a key to get 401 once a key exists");

        Assert.Equal(HttpStatusCode.Unauthorized, await Producer.PostAsync(silo.Http, "auth-on", key[..^1]));
        Assert.Equal(HttpStatusCode.Unauthorized, await Producer.PostAsync(silo.Http, "auth-on", ConfigSilo.AdminKey));
        using var asAdmin = await new AdminClient(silo.Http, key).SendAsync(HttpMethod.Get, "/v1/admin/config");
        Assert.Equal(HttpStatusCode.Unauthorized, asAdmin.StatusCode); // and a producer key is no admin key
        Assert.Equal(HttpStatusCode.Accepted, await Producer.PostAsync(silo.Http, "auth-on", key));
        Assert.Single(silo.Records("auth-on"));
    }

    [Fact]
    public async Task a_rate_limited_key_gets_429_with_retry_after_past_its_rate_while_another_key_is_unaffected()
    {
        var (slow, _) = await silo.Admin.CreateKeyAsync(new { name = "slow", recordsPerSecond = 5, burstSeconds = 1 });
        var (fast, _) = await silo.Admin.CreateKeyAsync(new { name = "fast" });
        await Poll.Until(async () => await Producer.PostAsync(silo.Http, "rate-fast", fast) == HttpStatusCode.Accepted, Propagation, "the unlimited key to be accepted");

        // 40 requests of each key at once: the slow key's bucket holds 5 records (plus what refills meanwhile).
        var slowTasks = Enumerable.Range(0, 40).Select(i => Producer.PostAsync(silo.Http, "rate-slow", slow, $$"""{"n":{{i}}}""")).ToList();
        var fastTasks = Enumerable.Range(0, 40).Select(i => Producer.PostAsync(silo.Http, "rate-fast", fast, $$"""{"n":{{i}}}""")).ToList();
        var slowResults = await Task.WhenAll(slowTasks);
        var fastResults = await Task.WhenAll(fastTasks);

        var slowAccepted = slowResults.Count(s => s == HttpStatusCode.Accepted);
        Assert.All(slowResults, status => Assert.Contains(status, new[] { HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests }));
        Assert.InRange(slowAccepted, 5, 15);
        Assert.All(fastResults, status => Assert.Equal(HttpStatusCode.Accepted, status));
        Assert.Equal(slowAccepted, silo.Records("rate-slow").Count);
        Assert.Equal(41, silo.Records("rate-fast").Count);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/rate-slow") { Content = new StringContent("{}") };
        request.Headers.Authorization = new("Bearer", slow);
        for (var i = 0; i < 10; i++)
        {
            using var drain = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/rate-slow") { Content = new StringContent("{}") };
            drain.Headers.Authorization = new("Bearer", slow);
            using var _ = await silo.Http.SendAsync(drain);
        }

        using var limited = await silo.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "a 429 says when to retry");
    }

    [Fact]
    public async Task a_deleted_key_gets_401_and_deleting_an_unknown_key_gets_404()
    {
        var (key, _) = await silo.Admin.CreateKeyAsync(new { name = "doomed" });
        await Poll.Until(async () => await Producer.PostAsync(silo.Http, "doomed-topic", key) == HttpStatusCode.Accepted, Propagation, "the new key to be accepted");

        using var deleted = await silo.Admin.DeleteKeyAsync("doomed");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await Poll.Until(async () => await Producer.PostAsync(silo.Http, "doomed-topic", key) == HttpStatusCode.Unauthorized, Propagation, "the deleted key to get 401");
        using var unknown = await silo.Admin.DeleteKeyAsync("doomed");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task producer_keys_never_appear_in_logs_in_the_admin_read_or_in_the_stored_configuration()
    {
        var (key, _) = await silo.Admin.CreateKeyAsync(new { name = "secretive", topics = new[] { "secret-topic" }, recordsPerSecond = 2 });
        await Poll.Until(async () => await Producer.PostAsync(silo.Http, "secret-topic", key) == HttpStatusCode.Accepted, Propagation, "the new key to be accepted");
        // Every path a key travels: accepted, refused for its topic, over its rate, by X-Api-Key, and a typo of it.
        await Producer.PostAsync(silo.Http, "other-topic", key);
        for (var i = 0; i < 5; i++)
        {
            await Producer.PostAsync(silo.Http, "secret-topic", key, header: "X-Api-Key");
        }

        await Producer.PostAsync(silo.Http, "secret-topic", key + "x");
        await silo.Admin.ApplyAsync(config => config["keys"]!.AsArray().First(k => k!["name"]!.GetValue<string>() == "secretive")!["enabled"] = false);
        var read = (await silo.Admin.GetConfigAsync()).ToJsonString();

        var hash = ConfigSeed.HashOf(key);
        Assert.True(silo.LogLines.Count > 20, $"the logs were captured ({silo.LogLines.Count} lines)");
        Assert.DoesNotContain(silo.LogLines, line => line.Contains(key[3..20], StringComparison.Ordinal) || line.Contains(hash, StringComparison.Ordinal));
        Assert.DoesNotContain(key[3..20], read, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, read, StringComparison.Ordinal);
        Assert.Contains(hash[..12], read, StringComparison.Ordinal); // the fingerprint, which tells keys apart
        foreach (var file in Directory.EnumerateFiles(Path.Combine(silo.DataDirectory, "config")))
        {
            Assert.DoesNotContain(key[3..20], File.ReadAllText(file), StringComparison.Ordinal);
        }
    }
}
