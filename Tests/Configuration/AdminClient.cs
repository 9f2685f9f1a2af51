using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Ingest.Tests.Configuration;

/// <summary>The admin API as an operator uses it: bearer admin key, JSON in and out.</summary>
internal sealed class AdminClient(HttpClient http, string adminKey)
{
    public async Task<JsonObject> GetConfigAsync()
    {
        using var response = await SendAsync(HttpMethod.Get, "/v1/admin/config");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    /// <summary>GETs the configuration, applies <paramref name="edit"/>, PUTs it back; returns the response.</summary>
    public async Task<HttpResponseMessage> EditAsync(Action<JsonObject> edit)
    {
        var config = await GetConfigAsync();
        edit(config);
        return await PutAsync(config.ToJsonString());
    }

    /// <summary>Like <see cref="EditAsync"/>, and asserts the change was applied; returns the new version.</summary>
    public async Task<long> ApplyAsync(Action<JsonObject> edit)
    {
        using var response = await EditAsync(edit);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT /v1/admin/config should succeed, got {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["version"]!.GetValue<long>();
    }

    public Task<HttpResponseMessage> PutAsync(string body) =>
        SendAsync(HttpMethod.Put, "/v1/admin/config", body);

    /// <summary>Creates a producer key; returns the key and the configuration version that holds it.</summary>
    public async Task<(string Key, long Version)> CreateKeyAsync(object request)
    {
        using var response = await SendAsync(HttpMethod.Post, "/v1/admin/keys", System.Text.Json.JsonSerializer.Serialize(request));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /v1/admin/keys should create the key, got {(int)response.StatusCode}: {body}");
        var created = JsonNode.Parse(body)!;
        return (created["key"]!.GetValue<string>(), created["version"]!.GetValue<long>());
    }

    public Task<HttpResponseMessage> DeleteKeyAsync(string name) => SendAsync(HttpMethod.Delete, $"/v1/admin/keys/{name}");

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return http.SendAsync(request);
    }
}

/// <summary>A producer's requests: one record, with or without a key.</summary>
internal static class Producer
{
    public static async Task<HttpStatusCode> PostAsync(HttpClient http, string topic, string? key, string body = """{"event":"test"}""", string header = "Authorization")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/topics/{topic}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(header, header == "Authorization" ? "Bearer " + key : key);
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Waits (up to 5 s; the one-second promise is ConfigPropagationTests' subject) until the node's /readyz shows <paramref name="version"/>.</summary>
    public static Task RunsVersionAsync(HttpClient http, long version) =>
        Infrastructure.Poll.Until(async () => await ConfigVersionAsync(http) == version, TimeSpan.FromSeconds(5), $"the node to run configuration version {version}");

    /// <summary>The configuration version a node runs, from its /readyz.</summary>
    public static async Task<long> ConfigVersionAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/readyz");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["configVersion"]!.GetValue<long>();
    }
}
