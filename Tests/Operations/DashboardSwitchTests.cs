using System.Net;
using System.Text.Json;
using Ingest.Silo.Hosting;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Operations;

/// <summary>A silo started with <c>Dashboard:Enabled=false</c>.</summary>
public sealed class DashboardOffSilo : InProcessSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new(SiloApp.DashboardEnabledKey, "false")];
}

/// <summary>The Orleans dashboard is on by default (see <c>StatusPageTests</c>) and can be switched off.</summary>
public sealed class DashboardSwitchTests(DashboardOffSilo silo) : IClassFixture<DashboardOffSilo>
{
    [Fact]
    public async Task with_the_dashboard_switched_off_it_is_not_served_the_status_page_does_not_link_to_it_and_ingest_works()
    {
        using (var response = await silo.Http.GetAsync("/dashboard/"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using (var response = await silo.Http.GetAsync("/dashboard/DashboardCounters"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync("/v1/topics/no-dashboard", new StringContent("{}"))).StatusCode);
        Assert.Single(silo.Records("no-dashboard"));
        using var status = JsonDocument.Parse(await silo.Http.GetStringAsync("/v1/status"));
        Assert.Equal(JsonValueKind.Null, status.RootElement.GetProperty("dashboard").ValueKind);
        Assert.Equal(1, status.RootElement.GetProperty("silos").GetArrayLength());
    }
}
