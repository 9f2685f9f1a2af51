using System.Diagnostics;
using System.Net;
using Ingest.Tests.Configuration;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Process;

/// <summary>
/// Three frontends of one Redis-clustered system (two silo processes serving HTTP, one Api process):
/// a configuration change made through one reaches all of them within a second, without a restart,
/// and is kept in Redis.
/// </summary>
[Collection(nameof(ProcessTests))]
public sealed class ConfigPropagationTests : IAsyncLifetime
{
    private const string AdminKey = "cluster-admin-key-42";
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(1);

    private ClusterBed _cluster = null!;

    public async ValueTask InitializeAsync() => _cluster = await ClusterBed.StartAsync("cfg");

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task a_key_added_used_and_disabled_goes_from_202_to_401_on_every_frontend_within_a_second()
    {
        await using var siloA = HostProcess.Start("Silo", Silo(_cluster.DataA));
        await using var siloB = HostProcess.Start("Silo", Silo(_cluster.DataB));
        await using var api = HostProcess.Start("Api", Frontend());
        await Task.WhenAll(siloA.WaitReadyAsync(), siloB.WaitReadyAsync(), api.WaitReadyAsync());
        HttpClient[] frontends = [siloA.Http, siloB.Http, api.Http];
        var admin = new AdminClient(api.Http, AdminKey);

        // The status fan-out reaches every silo, whichever node serves it (a client via any gateway, or a silo).
        foreach (var frontend in frontends)
        {
            for (var i = 0; i < 5; i++)
            {
                using var statusResponse = await new AdminClient(frontend, AdminKey).SendAsync(HttpMethod.Get, "/v1/status");
                var status = System.Text.Json.JsonDocument.Parse(await statusResponse.Content.ReadAsStringAsync()).RootElement;
                Assert.True(status.GetProperty("silos").GetArrayLength() == 2 && status.GetProperty("unreachable").GetArrayLength() == 0,
                    $"/v1/status should reach both silos: {status}");
            }
        }

        // No key configured yet: auth is off everywhere.
        foreach (var frontend in frontends)
        {
            Assert.Equal(HttpStatusCode.Accepted, await Producer.PostAsync(frontend, "cfg-topic", null));
        }

        var (key, added) = await admin.CreateKeyAsync(new { name = "rotating", topics = new[] { "cfg-topic" } });
        await EveryFrontendWithinASecond(frontends, added, async http =>
            await Producer.PostAsync(http, "cfg-topic", null) == HttpStatusCode.Unauthorized
            && await Producer.PostAsync(http, "cfg-topic", key) == HttpStatusCode.Accepted,
            "requests without a key get 401 and the new key gets 202");

        var disabled = await admin.ApplyAsync(config =>
            config["keys"]!.AsArray().Single(k => k!["name"]!.GetValue<string>() == "rotating")!["enabled"] = false);
        await EveryFrontendWithinASecond(frontends, disabled, async http =>
            await Producer.PostAsync(http, "cfg-topic", key) == HttpStatusCode.Unauthorized,
            "the disabled key gets 401");

        // With every silo gone, the Api keeps the last configuration: keys are still enforced.
        await siloA.TerminateAsync(TimeSpan.FromSeconds(30));
        await siloB.TerminateAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(disabled, await Producer.ConfigVersionAsync(api.Http));
        Assert.Equal(HttpStatusCode.Unauthorized, await Producer.PostAsync(api.Http, "cfg-topic", key));
        Assert.Equal(HttpStatusCode.Unauthorized, await Producer.PostAsync(api.Http, "cfg-topic", null));

        // The configuration lives in Redis: a silo started afterwards loads it, disabled key and all.
        await using var siloAgain = HostProcess.Start("Silo", Silo(_cluster.DataB));
        await siloAgain.WaitReadyAsync();
        Assert.Equal(disabled, await Producer.ConfigVersionAsync(siloAgain.Http));
        Assert.Equal(HttpStatusCode.Unauthorized, await Producer.PostAsync(siloAgain.Http, "cfg-topic", key));
        Assert.Equal(HttpStatusCode.Unauthorized, await Producer.PostAsync(siloAgain.Http, "cfg-topic", null));
    }

    /// <summary>Polls every frontend until <paramref name="holds"/>, failing if any takes longer than a second after the change.</summary>
    private static async Task EveryFrontendWithinASecond(HttpClient[] frontends, long version, Func<HttpClient, Task<bool>> holds, string expected)
    {
        var changed = Stopwatch.StartNew();
        await Task.WhenAll(frontends.Select((http, i) => Poll.Until(
            async () => await Producer.ConfigVersionAsync(http) >= version && await holds(http),
            Propagation,
            $"frontend {i} to run configuration version {version} and show that {expected}")));
        TestContext.Current.SendDiagnosticMessage($"configuration version {version} in force on all {frontends.Length} frontends {changed.ElapsedMilliseconds} ms after the change was answered");
    }

    private Dictionary<string, string> Silo(string data)
    {
        var environment = _cluster.SiloEnvironment(data);
        environment["Admin__Key"] = AdminKey;
        return environment;
    }

    private Dictionary<string, string> Frontend()
    {
        var environment = _cluster.FrontendEnvironment();
        environment["Admin__Key"] = AdminKey;
        return environment;
    }
}
