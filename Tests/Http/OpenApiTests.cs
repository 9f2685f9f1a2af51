using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ingest.Tests.Http;

/// <summary><c>GET /openapi/v1.json</c>: made from the endpoints' own metadata, it lists every route the app maps and every status they answer.</summary>
public sealed class OpenApiTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    // Served but described elsewhere: the Prometheus exposition format, Orleans' own dashboard, and the document itself.
    private static readonly string[] DescribedElsewhere = ["/metrics", "/dashboard", "/openapi"];

    [Fact]
    public async Task the_document_parses_and_lists_every_route_the_app_maps()
    {
        var document = await DocumentAsync();

        Assert.StartsWith("3.", document.GetProperty("openapi").GetString());
        var paths = document.GetProperty("paths");
        var mapped = silo.Service<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() is not null)
            .Select(e => (Path: "/" + e.RoutePattern.RawText!.TrimStart('/'), Methods: e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods))
            .Where(e => !DescribedElsewhere.Any(prefix => e.Path.StartsWith(prefix, StringComparison.Ordinal)))
            .SelectMany(e => e.Methods.Select(method => (e.Path, Method: method.ToLowerInvariant())))
            .ToList();
        var missing = mapped.Where(route => !paths.TryGetProperty(route.Path, out var item) || !item.TryGetProperty(route.Method, out _)).ToList();

        Assert.True(mapped.Count >= 16, $"the app maps the ingest, browser, admin, replay, status and health routes (found {mapped.Count})");
        Assert.True(missing.Count == 0, "mapped but not in the OpenAPI document: " + string.Join(", ", missing.Select(m => $"{m.Method} {m.Path}")));
        var append = paths.GetProperty("/v1/topics/{topic}").GetProperty("post");
        Assert.Contains(append.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "durability" && p.GetProperty("in").GetString() == "query");
        Assert.Contains(append.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "Idempotency-Key" && p.GetProperty("in").GetString() == "header");
        Assert.Equal("application/problem+json", append.GetProperty("responses").GetProperty("503").GetProperty("content").EnumerateObject().Single().Name);
        Assert.True(append.GetProperty("requestBody").GetProperty("content").TryGetProperty("*/*", out _), "a record's body may be of any content type");
        Assert.Equal(["application/x-ndjson", "text/plain", "application/json"],
            paths.GetProperty("/v1/topics/{topic}/batch").GetProperty("post").GetProperty("requestBody").GetProperty("content").EnumerateObject().Select(c => c.Name));
    }

    [Fact]
    public async Task every_status_these_requests_get_is_one_the_document_declares_for_their_operation()
    {
        var document = await DocumentAsync();
        var got = new List<(string Method, string Template, int Status)>();
        async Task Send(HttpMethod method, string template, string path, string? body = null, string contentType = "application/json", params (string, string)[] headers)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, contentType);
            }

            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await silo.Http.SendAsync(request);
            got.Add((method.Method.ToLowerInvariant(), template, (int)response.StatusCode));
        }

        const string record = "/v1/topics/{topic}", batch = "/v1/topics/{topic}/batch";
        await Send(HttpMethod.Post, record, "/v1/topics/doc", "{}");
        await Send(HttpMethod.Post, record, "/v1/topics/doc?durability=fsync", "{}");
        await Send(HttpMethod.Post, record, "/v1/topics/doc?durability=kafka", "{}"); // no Kafka on this node: 400
        await Send(HttpMethod.Post, record, "/v1/topics/bad%20name", "{}");
        await Send(HttpMethod.Post, record, "/v1/topics/doc", "{}", headers: ("Idempotency-Key", "not a key"));
        await Send(HttpMethod.Post, batch, "/v1/topics/doc/batch", "{\"a\":1}\n", "application/x-ndjson");
        await Send(HttpMethod.Post, batch, "/v1/topics/doc/batch", "<a/>", "text/xml");
        await Send(HttpMethod.Post, batch, "/v1/topics/doc/batch", "[1,", "application/json");
        await Send(HttpMethod.Options, record, "/v1/topics/doc");
        await Send(HttpMethod.Get, "/healthz", "/healthz");
        await Send(HttpMethod.Get, "/readyz", "/readyz");
        await Send(HttpMethod.Get, "/v1/status", "/v1/status");
        await Send(HttpMethod.Get, "/status", "/status");
        await Send(HttpMethod.Get, "/", "/");
        await Send(HttpMethod.Get, "/v1/admin/config", "/v1/admin/config");
        await Send(HttpMethod.Get, "/v1/admin/config/nodes", "/v1/admin/config/nodes");
        await Send(HttpMethod.Put, "/v1/admin/config", "/v1/admin/config", """{"version":0,"topicMode":"closed"}""");
        await Send(HttpMethod.Post, "/v1/admin/replay", "/v1/admin/replay", """{"topic":"doc","date":"2026-12-01"}"""); // no Kafka: 409
        await Send(HttpMethod.Get, "/v1/admin/replay/{id}", "/v1/admin/replay/nope");
        await Send(HttpMethod.Delete, "/v1/admin/keys/{name}", "/v1/admin/keys/nobody");
        await Send(HttpMethod.Post, "/v1/admin/keys", "/v1/admin/keys", """{"name":"bad name!"}""");

        var undeclared = got.Where(g => !Declares(document, g.Template, g.Method, g.Status)).ToList();
        Assert.True(undeclared.Count == 0, "answered with a status the document does not declare: " + string.Join(", ", undeclared.Select(u => $"{u.Method} {u.Template} {u.Status}")));
        Assert.True(got.Select(g => g.Status).Distinct().Count() >= 7, $"the requests covered successes and errors: {string.Join(", ", got.Select(g => g.Status).Distinct())}");
    }

    private static bool Declares(JsonElement document, string template, string method, int status) =>
        document.GetProperty("paths").TryGetProperty(template, out var path)
        && path.TryGetProperty(method, out var operation)
        && operation.GetProperty("responses").TryGetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out _);

    private async Task<JsonElement> DocumentAsync()
    {
        var response = await silo.Http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }
}
