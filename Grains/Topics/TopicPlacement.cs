using Ingest.Records;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Ingest.Topics;

/// <summary>
/// Where a topic grain activates: on the compatible silos ordered by address, topic <c>t</c> shard
/// <c>n</c> goes to silo <c>(CRC-32C(t) + n) mod count</c>. So the shards of one hot topic land on
/// different silos (as far as there are silos), and topics spread evenly by hash. Orleans' default
/// placement put both shards of a topic on one silo in the cluster benchmark, which made sharding
/// useless. When silos join or leave, only new activations follow the new count; running ones stay.
/// Silos the cluster configuration drains (<c>drainedSilos</c>) are left out, unless every silo is drained.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class TopicShardPlacement : PlacementStrategy
{
    internal static TopicShardPlacement Singleton { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class TopicShardPlacementAttribute() : PlacementAttribute(TopicShardPlacement.Singleton);

internal sealed class TopicShardPlacementDirector(Configuration.LiveConfig config) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target);
        if (silos.Length == 0)
        {
            throw new OrleansException($"No silo can host {target.GrainIdentity}.");
        }

        var current = config.Current;
        if (current.DrainedSilos.Count > 0 && silos.Where(s => !DrainedSilos.Contains(current, s)).ToArray() is { Length: > 0 } serving)
        {
            silos = serving;
        }

        var ordered = silos.OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToArray();
        var key = target.GrainIdentity.Key.ToString() ?? string.Empty;
        TopicShards.TryParse(key, out var topic, out var shard);
        var index = (int)((Crc32C.Compute(System.Text.Encoding.UTF8.GetBytes(topic)) + (uint)shard) % (uint)ordered.Length);
        return Task.FromResult(ordered[index]);
    }
}
