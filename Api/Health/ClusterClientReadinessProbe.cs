using Orleans.Runtime;

namespace Ingest.Api.Health;

/// <summary>
/// Readiness of a stand-alone frontend: the cluster answers through its gateway and has at least one
/// active silo. Checked at most once a second, so probes cost the cluster nothing.
/// </summary>
internal sealed class ClusterClientReadinessProbe(IGrainFactory grains, TimeProvider time, Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime) : IReadinessProbe
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private ReadinessReport _last = ReadinessReport.No("not checked yet");
    private long _checkedAt = long.MinValue;

    public async ValueTask<ReadinessReport> CheckAsync(CancellationToken cancellationToken)
    {
        if (!lifetime.ApplicationStarted.IsCancellationRequested)
        {
            // The Orleans client is still connecting to a gateway (it retries until one answers).
            return ReadinessReport.No("connecting to the cluster: no gateway has answered yet");
        }

        if (_checkedAt != long.MinValue && time.GetElapsedTime(_checkedAt) < CacheFor)
        {
            return _last;
        }

        ReadinessReport report;
        try
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(Timeout, time, cancellationToken);
            report = hosts.Count > 0 ? ReadinessReport.Yes with { ActiveSilos = hosts.Count } : ReadinessReport.No("the cluster has no active silo") with { ActiveSilos = 0 };
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            report = ReadinessReport.No("the cluster is not reachable: " + e.GetType().Name);
        }

        _last = report;
        _checkedAt = time.GetTimestamp();
        return report;
    }
}
