using System.Net;
using System.Text.Json.Nodes;
using Ingest.Configuration;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Tests.Configuration;

/// <summary>A silo whose settings seed a Kafka password and a sharded topic.</summary>
public sealed class SeededConfigSilo : ConfigSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Kafka:ProducerSettings:sasl.password", "hunter2-kafka-secret"),
        new("Kafka:ProducerSettings:linger.ms", "7"),
        new("Ingest:Shards:seeded", "2"),
    ];
}

public sealed class ConfigAdminTests(SeededConfigSilo silo) : IClassFixture<SeededConfigSilo>
{
    private IConfigGrain Grain => silo.Service<IGrainFactory>().GetGrain<IConfigGrain>(IConfigGrain.Key);

    [Fact]
    public async Task the_admin_read_shows_the_seeded_configuration_with_its_version_and_secrets_redacted()
    {
        var config = await silo.Admin.GetConfigAsync();

        Assert.True(config["version"]!.GetValue<long>() >= 1);
        Assert.Equal("open", config["topicMode"]!.GetValue<string>());
        Assert.Equal(2, config["topics"]!["seeded"]!["shards"]!.GetValue<int>());
        Assert.Equal(KafkaSecrets.Redacted, config["kafka"]!["producerSettings"]!["sasl.password"]!.GetValue<string>());
        Assert.Equal("7", config["kafka"]!["producerSettings"]!["linger.ms"]!.GetValue<string>());
        Assert.DoesNotContain("hunter2", config.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task a_put_of_the_read_with_one_edit_changes_that_edit_only_increments_the_version_and_keeps_redacted_secrets()
    {
        var before = await silo.Admin.GetConfigAsync();

        var version = await silo.Admin.ApplyAsync(config => config["kafka"]!["producerSettings"]!["batch.size"] = "65536");

        Assert.Equal(before["version"]!.GetValue<long>() + 1, version);
        var stored = await Grain.Get();
        Assert.Equal("65536", stored.Kafka.ProducerSettings["batch.size"]);
        Assert.Equal("7", stored.Kafka.ProducerSettings["linger.ms"]);
        Assert.Equal("hunter2-kafka-secret", stored.Kafka.ProducerSettings["sasl.password"]);
        await Producer.RunsVersionAsync(silo.Http, version);
    }

    public static TheoryData<string, string, string> InvalidEdits => new()
    {
        { "unknown field", """{"color":"blue"}""", "color" },
        { "unknown topic field", """{"topics":{"t":{"shardz":2}}}""", "shardz" },
        { "negative shards", """{"topics":{"t":{"shards":-1}}}""", "topics.t.shards" },
        { "too many shards", """{"topics":{"t":{"shards":100000}}}""", "topics.t.shards" },
        { "invalid topic name", """{"topics":{"a/b":{}}}""", "topics.a/b" },
        { "malformed broker list", """{"kafka":{"bootstrapServers":"kafka-1;kafka-2"}}""", "kafka.bootstrapServers" },
        { "broker without port", """{"kafka":{"bootstrapServers":"kafka-1"}}""", "kafka.bootstrapServers" },
        { "fixed producer setting", """{"kafka":{"producerSettings":{"acks":"1"}}}""", "kafka.producerSettings.acks" },
        { "unknown topic mode", """{"topicMode":"closed"}""", "topicMode" },
        { "segment too small", """{"topics":{"t":{"maxSegmentBytes":10}}}""", "topics.t.maxSegmentBytes" },
        { "key hash sent in for a key that does not exist", """{"keys":[{"name":"x","hash":"00"}]}""", "keys[0].name" },
        { "key not created through POST", """{"keys":[{"name":"never-created"}]}""", "keys[0].name" },
        { "wrong type", """{"topics":{"t":{"shards":"two"}}}""", "topics.t.shards" },
        { "an origin with a path", """{"allowedOrigins":["https://shop.example/app"]}""", "allowedOrigins[0]" },
    };

    [Theory]
    [MemberData(nameof(InvalidEdits))]
    public async Task an_invalid_change_gets_400_naming_the_field_and_the_configuration_stays_unchanged(string what, string patch, string field)
    {
        var before = (await silo.Admin.GetConfigAsync()).ToJsonString();
        var edited = JsonNode.Parse(before)!.AsObject();
        Merge(edited, JsonNode.Parse(patch)!.AsObject());

        using var response = await silo.Admin.PutAsync(edited.ToJsonString());
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: expected 400, got {(int)response.StatusCode} {problem}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(field, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, (await silo.Admin.GetConfigAsync()).ToJsonString());
    }

    [Fact]
    public async Task allowed_origins_changed_at_run_time_take_effect_without_a_restart()
    {
        await silo.Admin.ApplyAsync(config => config["allowedOrigins"] = new JsonArray("http://page.example"));
        try
        {
            await Poll.Until(async () => (await FromOrigin("http://page.example")).StatusCode == HttpStatusCode.Accepted
                    && (await FromOrigin("http://other.example")).StatusCode == HttpStatusCode.Forbidden,
                TimeSpan.FromSeconds(10), "a page of http://page.example to be taken and one of http://other.example refused");
            var allowed = await FromOrigin("http://page.example");
            Assert.Equal("http://page.example", Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Origin")));
        }
        finally
        {
            await silo.Admin.ApplyAsync(config => config["allowedOrigins"] = new JsonArray());
        }

        await Poll.Until(async () => (await FromOrigin("http://other.example")).StatusCode == HttpStatusCode.Accepted,
            TimeSpan.FromSeconds(10), "with no origin allowed, a request with any Origin to be taken as before (no CORS)");
    }

    private async Task<HttpResponseMessage> FromOrigin(string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/topics/from-a-page") { Content = new StringContent("{}") };
        request.Headers.Add("Origin", origin);
        return await silo.Http.SendAsync(request);
    }

    [Fact]
    public async Task a_put_based_on_an_old_version_gets_409_and_changes_nothing()
    {
        var stale = await silo.Admin.GetConfigAsync();
        await silo.Admin.ApplyAsync(config => config["topics"]!["fresh"] = new JsonObject { ["shards"] = 3 });
        var current = (await silo.Admin.GetConfigAsync()).ToJsonString();
        stale["topics"]!["stale"] = new JsonObject();

        using var response = await silo.Admin.PutAsync(stale.ToJsonString());

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal(current, (await silo.Admin.GetConfigAsync()).ToJsonString());
    }

    [Theory]
    [InlineData("GET", "/v1/admin/config")]
    [InlineData("PUT", "/v1/admin/config")]
    [InlineData("POST", "/v1/admin/keys")]
    [InlineData("DELETE", "/v1/admin/keys/anything")]
    [InlineData("GET", "/v1/status")]
    [InlineData("GET", "/status")]
    [InlineData("GET", "/")]
    [InlineData("GET", "/dashboard/")]
    public async Task admin_endpoints_and_operator_pages_without_the_admin_key_get_401_and_change_nothing(string method, string path)
    {
        var before = (await silo.Admin.GetConfigAsync()).ToJsonString();
        foreach (var authorization in new string?[] { null, "Bearer wrong-key", "Bearer " + ConfigSilo.AdminKey[..^1], "Basic " + ConfigSilo.AdminKey })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(before.Replace("\"open\"", "\"allowList\""), System.Text.Encoding.UTF8, "application/json") };
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            using var response = await silo.Http.SendAsync(request);

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        Assert.Equal(before, (await silo.Admin.GetConfigAsync()).ToJsonString());
    }

    [Theory]
    [InlineData("/v1/status")]
    [InlineData("/status")]
    [InlineData("/dashboard/")]
    public async Task operator_pages_answer_with_the_admin_key(string path)
    {
        using var response = await silo.Admin.SendAsync(HttpMethod.Get, path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch.ToList())
        {
            if (value is JsonObject child && target[name] is JsonObject existing)
            {
                Merge(existing, child);
            }
            else
            {
                target[name] = value?.DeepClone();
            }
        }
    }
}
