using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Ingest.Forwarding;

/// <summary>
/// A forwarding grain activates on the silo its key names (the key is that silo's address), whoever
/// calls it: a client through any gateway, or another silo. [PreferLocalPlacement] placed it on the
/// caller's silo, where it refused to run, so a status or replay fan-out reached only the silo the
/// call happened to land on. A key naming a silo that is gone gets no activation.
/// </summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class ForwarderPlacement : PlacementStrategy
{
    internal static ForwarderPlacement Singleton { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ForwarderPlacementAttribute() : PlacementAttribute(ForwarderPlacement.Singleton);

internal sealed class ForwarderPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString() ?? string.Empty;
        var silo = context.GetCompatibleSilos(target).FirstOrDefault(s => s.ToParsableString() == key);
        return silo is not null
            ? Task.FromResult(silo)
            : throw new OrleansException($"Silo {key} is not in the cluster: its forwarder cannot run.");
    }
}
