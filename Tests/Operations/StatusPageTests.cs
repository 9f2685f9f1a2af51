using System.Net;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Operations;

/// <summary>The status page and the Orleans dashboard of a running silo, in a real headless Chromium.</summary>
public sealed class StatusPageTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task the_status_page_shows_the_topics_just_written_with_nonzero_counts_and_the_dashboard_loads()
    {
        foreach (var (topic, records) in new[] { ("page-views", 12), ("page-clicks", 5) })
        {
            silo.Kafka.CreateTopic(topic, partitions: 2);
            for (var i = 0; i < records; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync($"/v1/topics/{topic}", new StringContent($$"""{"i":{{i}}}"""))).StatusCode);
            }
        }

        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(silo.BaseAddress, "/status"));
        // The page renders /v1/status into a table (one row per topic, cells: topic, Kafka topic, rate, appended, shipped, ...).
        const string rows = """
            [...document.querySelectorAll('#topics tbody tr')].map(r => [...r.cells].map(c => c.textContent))
            """;
        await Poll.Until(async () =>
            {
                var table = (await browser.EvaluateAsync(rows))!.AsArray();
                return table.Any(r => r![0]!.GetValue<string>() == "page-views" && r[3]!.GetValue<string>() == "12" && r[4]!.GetValue<string>() == "12")
                    && table.Any(r => r![0]!.GetValue<string>() == "page-clicks" && r[3]!.GetValue<string>() == "5");
            },
            TimeSpan.FromSeconds(20),
            "the status page to list page-views (12 appended, 12 shipped) and page-clicks (5 appended)");
        Assert.Equal(1, (await browser.EvaluateAsync("document.querySelectorAll('#silos tbody tr').length"))!.GetValue<int>());
        Assert.Contains("configuration version", (await browser.EvaluateAsync("document.getElementById('summary').textContent"))!.GetValue<string>());
        await SaveScreenshot("status-page.png", await browser.ScreenshotAsync());

        // The page links to the dashboard this silo serves (an Api frontend, serving none, hides the link).
        await Poll.Until(async () => !(await browser.EvaluateAsync("document.getElementById('dashboard').hidden"))!.GetValue<bool>(),
            TimeSpan.FromSeconds(10), "the status page to show its link to the Orleans dashboard");
        var dashboard = new Uri((await browser.EvaluateAsync("document.getElementById('dashboard').href"))!.GetValue<string>());
        Assert.Equal(new Uri(silo.BaseAddress, "/dashboard/"), dashboard);
        await browser.NavigateAsync(dashboard);
        var text = "";
        try
        {
            // The overview renders once the dashboard's own API answered: activations and the one active silo.
            await Poll.Until(async () =>
                {
                    text = (await browser.EvaluateAsync("document.body.innerText"))!.GetValue<string>();
                    return text.Contains("total activations", StringComparison.OrdinalIgnoreCase)
                        && System.Text.RegularExpressions.Regex.IsMatch(text, @"active silos\s*1\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
                },
                TimeSpan.FromSeconds(30), "the Orleans dashboard to render its overview with 1 active silo");
        }
        catch (TimeoutException e)
        {
            await SaveScreenshot("orleans-dashboard-failed.png", await browser.ScreenshotAsync());
            throw new TimeoutException($"{e.Message}; the page shows: {text[..Math.Min(text.Length, 2000)]}", e);
        }
        Assert.Contains("Orleans", (await browser.EvaluateAsync("document.title"))!.GetValue<string>());
        await SaveScreenshot("orleans-dashboard.png", await browser.ScreenshotAsync());
    }

    /// <summary>Keeps a screenshot as a test artifact (attached to the result and written under TestResults/screenshots).</summary>
    private static async Task SaveScreenshot(string name, byte[] png)
    {
        Assert.True(png.Length > 1000 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G', $"{name} is a PNG image");
        var directory = Path.Combine(Repo.Root, "Tests", "TestResults", "screenshots");
        Directory.CreateDirectory(directory);
        await File.WriteAllBytesAsync(Path.Combine(directory, name), png);
        TestContext.Current.AddAttachment(name, png, "image/png");
    }
}
