using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ingest.Hosting;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Security;

/// <summary>A silo with an admin key configured.</summary>
public sealed class AdminKeySilo : InProcessSilo
{
    public const string AdminKey = "test-admin-key-5f2c9a7e";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Admin:Key", AdminKey)];
}

public sealed class AdminAuthorizationTests(AdminKeySilo silo) : IClassFixture<AdminKeySilo>
{
    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-key")]
    [InlineData("Basic dGVzdA==")]
    [InlineData("Bearer test-admin-key-5f2c9a7")] // a prefix of the key
    public async Task admin_endpoints_without_the_admin_key_answer_401_and_do_nothing(string? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/replay") { Content = new StringContent("""{"topic":"t","date":"2026-11-20"}""", Encoding.UTF8, "application/json") };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        var response = await silo.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.False(Directory.Exists(Path.Combine(silo.DataDirectory, "replay")), "a refused request must not start a replay");
        Assert.Equal(HttpStatusCode.Unauthorized, (await silo.Http.GetAsync($"/v1/admin/replay/{Guid.NewGuid():N}")).StatusCode);
    }

    [Fact]
    public async Task with_the_admin_key_the_request_reaches_the_endpoint()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/replay") { Content = new StringContent("""{"topic":"t"}""", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKeySilo.AdminKey);

        var response = await silo.Http.SendAsync(request);

        // Past the guard: the endpoint itself validates the body (and this store-only silo has nothing to replay into).
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Give \"date\"", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }
}
