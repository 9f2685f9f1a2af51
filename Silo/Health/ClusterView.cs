using Orleans.Runtime;

namespace Ingest.Silo.Health;

/// <summary>
/// This silo's view of the cluster for <c>/readyz</c>: the active silos in its membership table, and of
/// those, the ones whose grain manifest it has received. Placement only chooses among the second: a silo
/// that has just joined takes no new topic until its manifest has reached the silo that places it (it is
/// fetched after the membership change), so a topic first written in that window activates elsewhere and
/// stays there until it is deactivated.
/// </summary>
internal sealed class ClusterView(IClusterMembershipService membership, IClusterManifestProvider manifests)
{
    public (int Active, int PlacesOn) Count()
    {
        var known = manifests.Current.Silos;
        int active = 0, placesOn = 0;
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status != SiloStatus.Active)
            {
                continue;
            }

            active++;
            if (known.ContainsKey(member.SiloAddress))
            {
                placesOn++;
            }
        }

        return (active, placesOn);
    }
}
