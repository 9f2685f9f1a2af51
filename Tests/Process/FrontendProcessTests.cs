using System.Net;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Process;

[Collection(nameof(ProcessTests))]
public sealed class FrontendProcessTests
{
    [Fact]
    public async Task the_api_process_stores_records_through_the_cluster_and_answers_503_fast_when_the_silo_is_gone()
    {
        using var data = new TempDirectory("ingest-frontend");
        var gateway = Ports.Free();
        await using var silo = HostProcess.Start("Silo", SiloEnvironment.For(data.Path, gatewayPort: gateway));
        await using var api = HostProcess.Start("Api", new Dictionary<string, string>
        {
            ["Cluster__GatewayPort"] = gateway.ToString(),
            ["Cluster__ResponseTimeout"] = "00:00:03",
        });
        await silo.WaitReadyAsync();
        await api.WaitReadyAsync();

        var single = await api.Http.PostAsync("/v1/topics/via-api?key=k1", new StringContent("""{"via":"api"}"""));
        var batch = await api.Http.PostAsync("/v1/topics/via-api/batch", new StringContent("{\"n\":1}\n{\"n\":2}\n", System.Text.Encoding.UTF8, "application/x-ndjson"));

        Assert.Equal(HttpStatusCode.Accepted, single.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, batch.StatusCode);
        Assert.Equal(["""{"via":"api"}""", """{"n":1}""", """{"n":2}"""], StoredRecords.Read(data.Path, "via-api").Select(r => r.ValueText));
        // The frontend serves the same OpenAPI description as a silo.
        var openApi = System.Text.Json.JsonDocument.Parse(await api.Http.GetStringAsync("/openapi/v1.json")).RootElement;
        Assert.True(openApi.GetProperty("paths").TryGetProperty("/v1/topics/{topic}/batch", out _), "the Api's OpenAPI document describes the batch endpoint");

        await silo.KillAsync();
        var started = DateTime.UtcNow;
        var afterDeath = await api.Http.PostAsync("/v1/topics/via-api", new StringContent("""{"late":true}"""));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, afterDeath.StatusCode);
        Assert.NotNull(afterDeath.Headers.RetryAfter);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "a dead cluster must cost a client seconds, not a hang");
        await Poll.Until(async () => (await api.Http.GetAsync("/readyz")).StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20), "the api to report unready once its only silo is gone");
    }
}
