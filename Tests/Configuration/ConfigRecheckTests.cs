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
