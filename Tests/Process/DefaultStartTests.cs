using System.Diagnostics;
using System.Net;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Process;

[Collection(nameof(ProcessTests))]
public sealed class DefaultStartTests
{
    /// <summary>
    /// The README's run command with its defaults (127.0.0.1:8080, ports 11111/30000). Only the data
    /// directory is moved to a temporary folder, and the build that the test run already did is reused.
    /// </summary>
    [Fact]
    public async Task dotnet_run_project_silo_answers_the_readme_curl_with_202()
    {
        using var data = new TempDirectory("ingest-default");
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = Repo.Root };
        foreach (var argument in new[] { "run", "--project", "Silo", "--no-build", "-c", Repo.Configuration })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["Ingest__DataDirectory"] = data.Path;
        start.Environment.Remove("ASPNETCORE_URLS");
        await using var silo = HostProcess.Launch(start, httpPort: 8080);
        await silo.WaitReadyAsync();

        var response = await silo.Http.PostAsync("/v1/topics/demo", new StringContent("""{"a":1}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("""{"accepted":1}""", await response.Content.ReadAsStringAsync());
        Assert.Equal("""{"a":1}""", Assert.Single(StoredRecords.Read(data.Path, "demo")).ValueText);
    }
}
