using System.Net;
using System.Text.Json;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Http;

/// <summary>A silo whose disk budget holds about twenty small records.</summary>
public sealed class TinyBudgetSilo : InProcessSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Ingest:MaxDiskBytes", "4096")];
}

public sealed class DiskBudgetTests(TinyBudgetSilo silo) : IClassFixture<TinyBudgetSilo>
{
    [Fact]
    public async Task past_the_disk_budget_appends_get_503_with_retry_after_readiness_says_why_and_every_202_is_kept()
    {
        var accepted = new List<string>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 200 && refused is null; i++)
        {
            var body = $$"""{"i":{{i}},"pad":"{{new string('b', 150)}}"}""";
            var response = await silo.Http.PostAsync("/v1/topics/budget", new StringContent(body));
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted.Add(body);
            }
            else
            {
                refused = response;
            }
        }

        Assert.NotNull(refused);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Contains("disk budget", await refused.Content.ReadAsStringAsync());
        Assert.InRange(accepted.Count, 10, 30);
        Assert.Equal(accepted, silo.Records("budget").Select(r => r.ValueText));

        var ready = await silo.Http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var reasons = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("reasons");
        Assert.Contains("disk budget", reasons[0].GetString());
    }
}
