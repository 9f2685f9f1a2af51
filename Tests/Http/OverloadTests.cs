using System.Net;
using Ingest.Api.Appending;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Http;

/// <summary>A silo that works on at most four ingest requests at once.</summary>
public sealed class FourRequestSilo : InProcessSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Ingest:MaxConcurrentRequests", "4")];
}

public sealed class OverloadTests(FourRequestSilo silo) : IClassFixture<FourRequestSilo>
{
    [Fact]
    public async Task past_max_concurrent_requests_a_request_is_refused_at_once_with_503_and_retry_after_and_accepted_again_after()
    {
        var gate = silo.Service<RequestGate>();
        // Occupy every permit, as four slow requests in progress would.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(4 - i, gate.Room);
            Assert.True(gate.TryEnter());
        }

        Assert.Equal(0, gate.Room);

        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var refused = await silo.Http.PostAsync("/v1/topics/shed", new StringContent("x"));

            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            using var problem = System.Text.Json.JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
            Assert.Equal("Overloaded", problem.RootElement.GetProperty("title").GetString());
            Assert.Contains("Ingest:MaxConcurrentRequests=4", problem.RootElement.GetProperty("detail").GetString());
            Assert.Contains("Nothing of this request was stored", problem.RootElement.GetProperty("detail").GetString());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), "shedding must not wait");
        }
        finally
        {
            for (var i = 0; i < 4; i++)
            {
                gate.Exit();
            }
        }

        var accepted = await silo.Http.PostAsync("/v1/topics/shed", new StringContent("y"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(["y"], silo.Records("shed").Select(r => r.ValueText));
        // The answered requests gave their permits back: all four are free again, and no fifth.
        var permits = Enumerable.Range(0, 5).Count(_ => gate.TryEnter());
        for (var i = 0; i < permits; i++)
        {
            gate.Exit();
        }

        Assert.Equal(4, permits);
    }
}
