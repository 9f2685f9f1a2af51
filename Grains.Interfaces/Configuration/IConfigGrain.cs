using Orleans.Concurrency;

namespace Ingest.Configuration;

/// <summary>
/// The cluster's one configuration (key 0): persisted in grain storage (Redis in a cluster, a file in the
/// single-node default), seeded from the hosting silo's settings the first time it activates, validated
/// on every change and pushed to every subscribed node.
/// </summary>
[Alias("ingest.config")]
public interface IConfigGrain : IGrainWithIntegerKey
{
    public const long Key = 0;

    [Alias("get")]
    Task<ClusterConfig> Get();

    /// <summary>
    /// Replaces the configuration by <paramref name="proposed"/>, which is an edit of version
    /// <see cref="ClusterConfig.Version"/>: keys are matched by name (new keys come through <see cref="AddKey"/>)
    /// and a redacted producer setting keeps its value.
    /// </summary>
    [Alias("replace")]
    Task<ConfigChange> Replace(ClusterConfig proposed);

    /// <summary>Adds a producer key; the caller generated the key and sends only its hash.</summary>
    [Alias("add-key")]
    Task<ConfigChange> AddKey(ProducerKey key);

    [Alias("remove-key")]
    Task<ConfigChange> RemoveKey(string name);

    /// <summary>
    /// Registers <paramref name="observer"/> (the node <paramref name="node"/>, which runs
    /// <paramref name="knownVersion"/>) for pushed changes, for a minute: nodes re-subscribe periodically.
    /// Returns the configuration if it is newer than <paramref name="knownVersion"/>, else null.
    /// </summary>
    [Alias("subscribe")]
    Task<ClusterConfig?> Subscribe(IConfigObserver observer, string node, long knownVersion);

    [Alias("unsubscribe")]
    Task Unsubscribe(IConfigObserver observer);

    /// <summary>The nodes subscribed now and the version each reported last (they report again right after applying a push).</summary>
    [Alias("nodes")]
    Task<IReadOnlyList<ConfigNode>> Nodes();
}

/// <summary>A node holding the configuration in memory.</summary>
[Alias("ingest.config-observer")]
public interface IConfigObserver : IGrainObserver
{
    [OneWay]
    [Alias("changed")]
    Task Changed(ClusterConfig config);
}

[GenerateSerializer, Alias("ingest.config-change-status")]
public enum ConfigChangeStatus
{
    Applied,
    Invalid,
    Conflict,
    NotFound,
}

/// <summary>The outcome of a change: on anything but <see cref="ConfigChangeStatus.Applied"/>, <see cref="Config"/> is the unchanged current one.</summary>
[GenerateSerializer, Alias("ingest.config-change")]
[Immutable]
public sealed record ConfigChange(
    [property: Id(0)] ConfigChangeStatus Status,
    [property: Id(1)] ClusterConfig Config,
    [property: Id(2)] IReadOnlyList<string> Errors);

/// <summary>A node holding the configuration, as it last reported to the configuration grain.</summary>
[GenerateSerializer, Alias("ingest.config-node")]
[Immutable]
public sealed record ConfigNode(
    [property: Id(0)] string Node,
    [property: Id(1)] long Version,
    [property: Id(2)] DateTime LastSeenUtc);
