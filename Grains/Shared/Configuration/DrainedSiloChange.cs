using Ingest.Topics;

namespace Ingest.Configuration;

/// <summary>
/// Adds a silo to the cluster configuration's <c>drainedSilos</c> or takes it out: read, change, replace, again
/// when the configuration changed meanwhile. Entries of silos that are no longer members are dropped on the way.
/// Used by the admin endpoint and by a silo that drains itself when it stops.
/// </summary>
internal static class DrainedSiloChange
{
    private const int Attempts = 5;

    /// <summary>The change's outcome; <see cref="ConfigChangeStatus.NotFound"/> when taking out a silo that is not listed.</summary>
    public static async Task<ConfigChange> SetAsync(IGrainFactory grains, string silo, bool drained, IReadOnlySet<string> members, TimeSpan timeout, TimeProvider time)
    {
        var grain = grains.GetGrain<IConfigGrain>(IConfigGrain.Key);
        ConfigChange? last = null;
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var current = await grain.Get().WaitAsync(timeout, time);
            if (!drained && !current.DrainedSilos.Contains(silo, StringComparer.Ordinal))
            {
                return new ConfigChange(ConfigChangeStatus.NotFound, current, [$"'{silo}' is not drained."]);
            }

            var kept = current.DrainedSilos.Where(s => members.Contains(s) && s != silo);
            last = await grain.Replace(current with { DrainedSilos = [.. drained ? kept.Append(silo) : kept] }).WaitAsync(timeout, time);
            if (last.Status != ConfigChangeStatus.Conflict)
            {
                return last;
            }
        }

        return last!;
    }

    /// <summary>The active silos' addresses, as <c>drainedSilos</c> names them.</summary>
    public static async Task<IReadOnlySet<string>> MembersAsync(IGrainFactory grains, TimeSpan timeout, TimeProvider time) =>
        (await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(timeout, time)).Keys.Select(Forwarders.KeyFor).ToHashSet(StringComparer.Ordinal);
}
