using System.Collections.Concurrent;
using System.Collections.Frozen;
using Ingest.Configuration;
using Ingest.Topics;

namespace Ingest.Api.Access;

/// <summary>How one topic is written: its shard grain keys and its record size limit.</summary>
internal sealed class TopicRoute(string[]? shardKeys, int maxRecordBytes)
{
    private int _spread;

    /// <summary>The grain keys of the topic's shards (built once per configuration version), or null when it has one.</summary>
    public string[]? ShardKeys { get; } = shardKeys;

    public int MaxRecordBytes { get; } = maxRecordBytes;

    /// <summary>The topic grain a request goes to: its key's shard (the same on every frontend), or for unkeyed requests the next shard in turn.</summary>
    public string GrainKeyFor(string topic, ReadOnlySpan<byte> key, bool hasKey)
    {
        if (ShardKeys is not { } keys)
        {
            return topic;
        }

        var shard = hasKey ? TopicShards.ShardOf(key, keys.Length) : (int)((uint)Interlocked.Increment(ref _spread) % (uint)keys.Length);
        return keys[shard];
    }

    /// <summary>
    /// Like <see cref="GrainKeyFor(string, ReadOnlySpan{byte}, bool)"/>, but an unkeyed request with an idempotency key goes to the
    /// shard of that key, so its retries meet the grain that remembers it.
    /// </summary>
    public string GrainKeyFor(string topic, ReadOnlySpan<byte> key, bool hasKey, Parsing.RequestHeaders? idempotent) =>
        hasKey || idempotent?.RouteKey is not { } route || ShardKeys is null ? GrainKeyFor(topic, key, hasKey) : GrainKeyFor(topic, route, true);
}

/// <summary>What one producer key may do.</summary>
internal sealed class KeyGrant(string name, bool enabled, FrozenSet<string>? topics, KeyRateLimiter? limiter, FrozenSet<string>? origins = null)
{
    public string Name { get; } = name;

    /// <summary>A browser key's page origins (null: not a browser key).</summary>
    public FrozenSet<string>? Origins { get; } = origins;

    public bool Enabled { get; } = enabled;

    public KeyRateLimiter? Limiter { get; } = limiter;

    public bool MayWrite(string topic) => topics is null || topics.Contains(topic);
}

/// <summary>
/// One configuration version, compiled for the request path: the topic table and the key table. Built
/// once per change and swapped in whole, so a request sees one version throughout and pays only a
/// dictionary lookup or two. A presented key is hashed (SHA-256) the first time it is seen; a key that
/// matched is remembered for this version, so later requests with it cost a lookup, not a hash. Keys
/// that match nothing are hashed every time (an attacker pays for his guesses) and never remembered.
/// </summary>
internal sealed class AccessPolicy
{
    private const int MaxPresentedKeyLength = 512;

    private readonly FrozenDictionary<string, TopicRoute> _routes;
    private readonly TopicRoute _defaultRoute;
    private readonly FrozenDictionary<string, KeyGrant> _byHash;
    private readonly ConcurrentDictionary<string, KeyGrant> _verified = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KeyGrant>.AlternateLookup<ReadOnlySpan<char>> _verifiedBySpan;

    public AccessPolicy(ClusterConfig config, bool fromCluster, int defaultMaxRecordBytes, int maxRequestBytes, Func<ProducerKey, KeyRateLimiter?> limiterOf)
    {
        Version = config.Version;
        FromCluster = fromCluster;
        Mode = config.TopicMode;
        _defaultRoute = new TopicRoute(null, defaultMaxRecordBytes);
        _routes = config.Topics.ToFrozenDictionary(
            topic => topic.Key,
            topic => new TopicRoute(
                topic.Value.Shards > 1 ? Enumerable.Range(0, topic.Value.Shards).Select(shard => TopicShards.GrainKey(topic.Key, shard)).ToArray() : null,
                Math.Min(topic.Value.MaxRecordBytes ?? defaultMaxRecordBytes, maxRequestBytes)),
            StringComparer.Ordinal);
        AuthRequired = config.AuthRequired;
        _byHash = config.Keys.ToFrozenDictionary(
            key => key.Hash,
            key => new KeyGrant(key.Name, key.Enabled, key.Topics?.ToFrozenSet(StringComparer.Ordinal), limiterOf(key), key.Origins?.ToFrozenSet(StringComparer.Ordinal)),
            StringComparer.Ordinal);
        var origins = config.AllowedOrigins ?? [];
        AnyOrigin = origins.Contains("*");
        _origins = origins.Where(origin => origin != "*").ToFrozenSet(StringComparer.Ordinal);
        _keyOrigins = config.Keys.Where(key => key.Enabled && key.Origins is not null).SelectMany(key => key.Origins!).ToFrozenSet(StringComparer.Ordinal);
        BrowsersConfigured = origins.Count > 0 || config.Keys.Exists(key => key.Origins is not null);
        _verifiedBySpan = _verified.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    private readonly FrozenSet<string> _origins;
    private readonly FrozenSet<string> _keyOrigins;

    public long Version { get; }

    /// <summary>Whether any origin is allowed (by <c>allowedOrigins</c> or a browser key): only then is there CORS, and a foreign <c>Origin</c> refused.</summary>
    public bool BrowsersConfigured { get; }

    /// <summary><c>allowedOrigins</c> holds <c>*</c>.</summary>
    public bool AnyOrigin { get; }

    /// <summary>Whether a request from <paramref name="origin"/> with <paramref name="grant"/> may be taken: a browser key only from its own origins.</summary>
    public bool AllowsOrigin(string origin, KeyGrant? grant) =>
        grant?.Origins is { } own ? own.Contains(origin) || own.Contains("*") : AnyOrigin || _origins.Contains(origin);

    /// <summary>Whether a preflight from <paramref name="origin"/> may go on (it carries no key: any origin a key allows counts).</summary>
    public bool MayPreflight(string origin) => AnyOrigin || _origins.Contains(origin) || _keyOrigins.Contains(origin) || _keyOrigins.Contains("*");

    /// <summary>False until this node has received the cluster's configuration: it then refuses ingest (503).</summary>
    public bool FromCluster { get; }

    public TopicMode Mode { get; }

    /// <summary>Whether requests need a key (see <see cref="ClusterConfig.RequireKeys"/>).</summary>
    public bool AuthRequired { get; }

    public IEnumerable<KeyGrant> Grants => _byHash.Values;

    /// <summary>The topic's route, or null if the allow-list does not name it.</summary>
    public TopicRoute? Route(string topic) =>
        _routes.TryGetValue(topic, out var route) ? route : Mode == TopicMode.Open ? _defaultRoute : null;

    /// <summary>The grant of the key presented, or null if no configured key matches.</summary>
    public KeyGrant? Authenticate(ReadOnlySpan<char> presented)
    {
        if (_verifiedBySpan.TryGetValue(presented, out var known))
        {
            return known;
        }

        if (presented.IsEmpty || presented.Length > MaxPresentedKeyLength || !_byHash.TryGetValue(ConfigSeed.HashOf(presented), out var grant))
        {
            return null;
        }

        // At most one plaintext per stored hash can match, so this stays as small as the key table.
        _verified.TryAdd(presented.ToString(), grant);
        return grant;
    }
}
