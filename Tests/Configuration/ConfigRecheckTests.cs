using Ingest.Configuration;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Configuration;

public sealed class ConfigRecheckTests : IAsyncLifetime
{
    private readonly ConfigSilo _silo = new();

    public ValueTask InitializeAsync() => _silo.InitializeAsync();

    public ValueTask DisposeAsync() => _silo.DisposeAsync();

    [Fact]
    public async Task a_change_whose_push_found_no_subscriber_reaches_the_node_by_its_periodic_recheck()
    {
        var grains = _silo.Service<IGrainFactory>();
        var config = grains.GetGrain<IConfigGrain>(IConfigGrain.Key);
        var live = _silo.Service<LiveConfig>();
        await Poll.Until(async () => (await config.Nodes()).Count == 1, TimeSpan.FromSeconds(10), "this silo to be subscribed to the configuration grain");

        // A deactivated configuration grain (as when its silo dies) comes back without subscribers.
        await grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Empty(await config.Nodes());
        var current = await config.Get();
        var change = await config.Replace(current with { Topics = new(current.Topics) { ["rechecked"] = new TopicSettings { Shards = 2 } } });
        Assert.Equal(ConfigChangeStatus.Applied, change.Status);

        await Poll.Until(() => live.Current.Version == change.Config.Version, ConfigSubscriber.RecheckPeriod + TimeSpan.FromSeconds(2),
            $"the silo to fetch version {change.Config.Version} at its next re-check");
        Assert.Equal(2, live.Current.SettingsOf("rechecked")?.Shards);
        await Poll.Until(async () => (await config.Nodes()).SingleOrDefault()?.Version == change.Config.Version, TimeSpan.FromSeconds(2),
            "the node to be subscribed again and report the new version");
    }
}

public sealed class LastKeyTests : IAsyncLifetime
{
    private readonly ConfigSilo _silo = new();

    public ValueTask InitializeAsync() => _silo.InitializeAsync();

    public ValueTask DisposeAsync() => _silo.DisposeAsync();

    [Fact]
    public async Task revoking_the_last_key_leaves_the_endpoints_closed_until_keys_are_turned_off_explicitly()
    {
        var (key, _) = await _silo.Admin.CreateKeyAsync(new { name = "only" });
        await Poll.Until(async () => await Producer.PostAsync(_silo.Http, "last-key", null) == System.Net.HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(5), "keys to be required once a key exists");
        Assert.True((await _silo.Admin.GetConfigAsync())["requireKeys"]!.GetValue<bool>());

        using var deleted = await _silo.Admin.DeleteKeyAsync("only");
        var version = long.Parse(deleted.Headers.GetValues("X-Config-Version").Single());
        await Producer.RunsVersionAsync(_silo.Http, version);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await Producer.PostAsync(_silo.Http, "last-key", null));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await Producer.PostAsync(_silo.Http, "last-key", key));
        Assert.Empty(_silo.Records("last-key"));

        var open = await _silo.Admin.ApplyAsync(config => config["requireKeys"] = false);
        await Producer.RunsVersionAsync(_silo.Http, open);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, await Producer.PostAsync(_silo.Http, "last-key", null));
    }
}
