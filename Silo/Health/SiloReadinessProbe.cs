using Ingest.Api.Health;
using Ingest.Storage;

namespace Ingest.Silo.Health;

/// <summary>
/// Readiness of a silo that serves the API: it has joined the cluster (its lifecycle reached Active and
/// has not begun to stop) and its data directory is writable with room in the disk budget.
/// </summary>
internal sealed class SiloReadinessProbe(SiloActivity activity, IStorageStatus storage, IClusterMembershipService membership) : IReadinessProbe
{
    public ValueTask<ReadinessReport> CheckAsync(CancellationToken cancellationToken)
    {
        var silos = membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active);
        if (!activity.IsActive)
        {
            return ValueTask.FromResult(ReadinessReport.No("the silo has not joined the cluster (or is shutting down)") with { ActiveSilos = silos });
        }

        var report = storage.IsWritable(out var reason) ? ReadinessReport.Yes : ReadinessReport.No(reason);
        return ValueTask.FromResult(report with { ActiveSilos = silos });
    }
}

/// <summary>True from the silo lifecycle's Active stage until shutdown begins.</summary>
internal sealed class SiloActivity : ILifecycleParticipant<ISiloLifecycle>
{
    private volatile bool _active;

    public bool IsActive => _active;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(
            nameof(SiloActivity),
            ServiceLifecycleStage.Active,
            _ =>
            {
                _active = true;
                return Task.CompletedTask;
            },
            _ =>
            {
                _active = false;
                return Task.CompletedTask;
            });
}
