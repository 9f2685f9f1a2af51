using Ingest.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Orleans.Utilities;

namespace Ingest.Configuration;

/// <summary>What the configuration grain persists.</summary>
[GenerateSerializer, Alias("ingest.config-state")]
internal sealed class ConfigState
{
    [Id(0)]
    public ClusterConfig? Config { get; set; }
}

/// <summary>
/// The cluster's configuration (see <see cref="IConfigGrain"/>). Changes run one at a time: validate,
/// persist, then push to every subscribed node. Its state is stored under <see cref="StorageName"/>:
/// Redis when the cluster uses Redis, else a file in the silo's data directory.
/// </summary>
// "config" is the name Orleans gave this grain before it was written down: the stored configuration
// (Redis key, or data/config/config-config_0.bin) is found under it.
[GrainType("config")]
internal sealed partial class ConfigGrain(
    [PersistentState("config", ConfigGrain.StorageName)] IPersistentState<ConfigState> state,
    IConfiguration settings,
    TimeProvider time,
    ILogger<ConfigGrain> logger) : Grain, IConfigGrain
{
    public const string StorageName = "ingest-config";
    private static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromMinutes(1);

    private readonly ObserverManager<IConfigObserver> _observers = new(SubscriptionLifetime, logger);
    private readonly Dictionary<IConfigObserver, ConfigNode> _nodes = [];

    private ClusterConfig Current => state.State.Config!;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Config is not null)
        {
            return;
        }

        var seed = ConfigSeed.From(settings);
        seed = seed with { Version = 1, RequireKeys = seed.RequireKeys ?? (seed.Keys.Count > 0 ? true : null) };
        var errors = ConfigRules.Validate(seed);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("The configuration seeded from this silo's settings is invalid: " + string.Join(" ", errors));
        }

        state.State.Config = seed;
        await state.WriteStateAsync(cancellationToken);
        Seeded(logger, seed.Topics.Count, seed.Keys.Count);
    }

    public Task<ClusterConfig> Get() => Task.FromResult(Current);

    public Task<ConfigChange> Replace(ClusterConfig proposed)
    {
        if (proposed.Version != Current.Version)
        {
            return Task.FromResult(Refused(ConfigChangeStatus.Conflict,
                $"version {proposed.Version} is not the current version {Current.Version}: read the configuration again and reapply the edit."));
        }

        var errors = new List<string>();
        var keys = new List<ProducerKey>();
        for (var i = 0; i < (proposed.Keys?.Count ?? 0); i++)
        {
            var key = proposed.Keys![i];
            var existing = Current.Keys.Find(k => k.Name == key?.Name);
            if (key is null || existing is null)
            {
                errors.Add($"keys[{i}].name: there is no key named '{key?.Name}'; create keys with POST /v1/admin/keys.");
                continue;
            }

            keys.Add(key with { Hash = existing.Hash });
        }

        var producerSettings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (setting, value) in proposed.Kafka?.ProducerSettings ?? [])
        {
            if (value == KafkaSecrets.Redacted)
            {
                if (!Current.Kafka.ProducerSettings.TryGetValue(setting, out var secret))
                {
                    errors.Add($"kafka.producerSettings.{setting}: '{KafkaSecrets.Redacted}' keeps the current value, but there is none.");
                    continue;
                }

                producerSettings[setting] = secret;
            }
            else
            {
                producerSettings[setting] = value;
            }
        }

        if (errors.Count > 0)
        {
            return Task.FromResult(new ConfigChange(ConfigChangeStatus.Invalid, Current, errors));
        }

        return ApplyAsync(proposed with
        {
            Keys = keys,
            Kafka = proposed.Kafka! with { ProducerSettings = producerSettings },
        }, "replaced");
    }

    public Task<ConfigChange> AddKey(ProducerKey key)
    {
        if (Current.Keys.Exists(k => k.Name == key.Name))
        {
            return Task.FromResult(Refused(ConfigChangeStatus.Conflict, $"name: a key named '{key.Name}' exists; delete it first or choose another name."));
        }

        return ApplyAsync(Current with { Keys = [.. Current.Keys, key] }, "key added");
    }

    public Task<ConfigChange> RemoveKey(string name)
    {
        var remaining = Current.Keys.Where(k => k.Name != name).ToList();
        return remaining.Count == Current.Keys.Count
            ? Task.FromResult(Refused(ConfigChangeStatus.NotFound, $"there is no key named '{name}'."))
            : ApplyAsync(Current with { Keys = remaining }, "key removed");
    }

    public Task<ClusterConfig?> Subscribe(IConfigObserver observer, string node, long knownVersion)
    {
        _observers.Subscribe(observer, observer);
        _nodes[observer] = new ConfigNode(node, knownVersion, time.GetUtcNow().UtcDateTime);
        return Task.FromResult(knownVersion < Current.Version ? Current : null);
    }

    public Task Unsubscribe(IConfigObserver observer)
    {
        _observers.Unsubscribe(observer);
        _nodes.Remove(observer);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<ConfigNode>> Nodes()
    {
        var expired = time.GetUtcNow().UtcDateTime - SubscriptionLifetime;
        foreach (var gone in _nodes.Where(entry => entry.Value.LastSeenUtc < expired).Select(entry => entry.Key).ToList())
        {
            _nodes.Remove(gone);
        }

        return Task.FromResult<IReadOnlyList<ConfigNode>>([.. _nodes.Values.OrderBy(node => node.Node, StringComparer.Ordinal)]);
    }

    private async Task<ConfigChange> ApplyAsync(ClusterConfig next, string what)
    {
        var errors = ConfigRules.Validate(next);
        if (errors.Count > 0)
        {
            return new ConfigChange(ConfigChangeStatus.Invalid, Current, errors);
        }

        var previous = Current;
        // Once keys exist, keys stay required: revoking the last one must not open the endpoints.
        next = next with { Version = previous.Version + 1, RequireKeys = next.RequireKeys ?? (next.Keys.Count > 0 ? true : null) };
        state.State.Config = next;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Config = previous;
            throw;
        }

        Changed(logger, next.Version, what);
        await _observers.Notify(observer => observer.Changed(next));
        return new ConfigChange(ConfigChangeStatus.Applied, next, []);
    }

    private ConfigChange Refused(ConfigChangeStatus status, string error) => new(status, Current, [error]);

    [LoggerMessage(EventId = (int)IngestEventCode.ConfigSeeded, Level = LogLevel.Information, Message = "Cluster configuration seeded from this silo's settings: {Topics} topic entries, {Keys} producer keys")]
    private static partial void Seeded(ILogger logger, int topics, int keys);

    // What changed is named, never the content: a configuration holds key hashes and Kafka credentials.
    [LoggerMessage(EventId = (int)IngestEventCode.ConfigChanged, Level = LogLevel.Information, Message = "Cluster configuration is now version {Version} ({What})")]
    private static partial void Changed(ILogger logger, long version, string what);
}
