using System.Diagnostics;
using System.Net;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Process;

[Collection(nameof(ProcessTests))]
public sealed class DefaultStartTests
{
    /// <summary>
    /// The README's run command with its defaults (127.0.0.1:8080, ports 11111/30000, the development
    /// Kafka broker at 127.0.0.1:19092). Only the data directory is moved to a temporary folder, and the
    /// build that the test run already did is reused. The record is then read back with Debian's kcat.
    /// </summary>
    [Fact]
    public async Task dotnet_run_project_silo_answers_the_readme_curl_with_202_and_kcat_reads_it_from_the_dev_broker()
    {
        using var temporary = new TempDirectory("ingest-default");
        var data = Path.Combine(temporary.Path, "data"); // created by the silo, as Silo/data is on a first run
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Repo.Root };
        foreach (var argument in new[] { "run", "--project", "Silo", "--no-build", "-c", Repo.Configuration })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["Ingest__DataDirectory"] = data;
        start.Environment.Remove("ASPNETCORE_URLS");
        await using var silo = HostProcess.Launch(start, httpPort: 8080);
        await silo.WaitReadyAsync();

        var response = await silo.Http.PostAsync("/v1/topics/demo", new StringContent("""{"a":1}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("""{"accepted":1,"durability":"flush"}""", await response.Content.ReadAsStringAsync());
        Assert.Contains("DEVELOPMENT KAFKA BROKER", silo.Output);
        List<string> consumed = [];
        await Poll.Until(
            async () => (consumed = await Kcat.ConsumeAsync("127.0.0.1:19092", "demo")).Count > 0,
            TimeSpan.FromSeconds(30),
            "kcat to read the record from the embedded broker at 127.0.0.1:19092");
        Assert.Equal("\t{\"a\":1}", consumed.Single()); // no key, then the value
        // A healthy start says what it does at Information and warns about nothing.
        var alarms = silo.Output.Split('\n').Where(line => line.StartsWith("warn:") || line.StartsWith("fail:") || line.StartsWith("crit:")).ToList();
        Assert.True(alarms.Count == 0, "a healthy start logged:\n" + silo.Output);
    }
}
