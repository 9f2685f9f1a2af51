using System.Net;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Operations;

/// <summary>
/// Two silos in one process (as in these tests, or an app hosting two) have meters of the same names;
/// each one's <c>/metrics</c> counts its own requests, whichever started first.
/// </summary>
public sealed class MetricsPerHostTests : IAsyncLifetime
{
    private readonly InProcessSilo _first = new();
    private readonly InProcessSilo _second = new();

    public async ValueTask InitializeAsync()
    {
        await _first.InitializeAsync();
        await _second.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
    }

    [Fact]
    public async Task each_of_two_silos_in_one_process_counts_only_the_requests_it_answered()
    {
        Assert.Equal(HttpStatusCode.Accepted, (await _first.Http.PostAsync("/v1/topics/per-host", new StringContent("{}"))).StatusCode);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await _second.Http.PostAsync("/v1/topics/per-host", new StringContent("{}"))).StatusCode);
        }

        (double First, double Second) counted = default;
        await Poll.Until(
            async () => (counted = (await Accepted(_first), await Accepted(_second))) == (1, 2),
            TimeSpan.FromSeconds(10),
            () => $"1 record counted accepted by the first silo and 2 by the second; they count {counted.First} and {counted.Second}");
    }

    private static async Task<double> Accepted(InProcessSilo silo) =>
        (await PrometheusText.ScrapeAsync(silo.Http)).Value("ingest_records_accepted_total", ("topic", "per-host"));
}
