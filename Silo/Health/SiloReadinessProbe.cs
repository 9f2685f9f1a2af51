using Ingest.Diagnostics;
using Ingest.Api.Health;
using Ingest.Storage;

namespace Ingest.Silo.Health;

/// <summary>
/// Readiness of a silo that serves the API: it has joined the cluster (its lifecycle reached Active and
/// has not begun to stop), it still stands in it (not fenced by its membership lease), and its data
/// directory is writable with room in the disk budget, and it is not drained. It also reports how many
/// active silos it can place topics on (<see cref="ClusterView"/>).
/// </summary>
internal sealed class SiloReadinessProbe(
    SiloActivity activity,
    IStorageStatus storage,
    ClusterView cluster,
    Ingest.Kafka.KafkaProducerHost producer,
    Microsoft.Extensions.Options.IOptions<Ingest.Kafka.KafkaOptions> kafka,
    Ingest.Membership.IClusterStanding standing,
    Ingest.Hosting.NodeDrain drain) : IReadinessProbe
{
    public ValueTask<ReadinessReport> CheckAsync(CancellationToken cancellationToken)
    {
        var (silos, placesOn) = cluster.Count();
        // Kafka trouble is reported but does not make the silo unready: the disk absorbs an outage.
        var (state, error) = kafka.Value.Enabled ? producer.State() : ("disabled", null);
        var kafkaState = error is null ? state : $"{state}: {error}";
        if (!activity.IsActive)
        {
            return ValueTask.FromResult(ReadinessReport.No("the silo has not joined the cluster (or is shutting down)") with { ActiveSilos = silos, PlacesOn = placesOn, Kafka = kafkaState });
        }

        if (standing.Fenced is { } fenced)
        {
            return ValueTask.FromResult(ReadinessReport.No(fenced) with { ActiveSilos = silos, PlacesOn = placesOn, Kafka = kafkaState });
        }

        if (drain.Draining)
        {
            return ValueTask.FromResult(ReadinessReport.No($"this silo is drained ({drain.State().State})") with { ActiveSilos = silos, PlacesOn = placesOn, Kafka = kafkaState });
        }

        var report = storage.IsWritable(out var reason) ? ReadinessReport.Yes : ReadinessReport.No(reason);
        return ValueTask.FromResult(report with { ActiveSilos = silos, PlacesOn = placesOn, Kafka = kafkaState });
    }
}

/// <summary>
/// True from the silo lifecycle's Active stage until shutdown begins: the host's stopping signal
/// (SIGTERM) turns it false first, so /readyz answers 503 while in-flight requests finish.
/// </summary>
internal sealed partial class SiloActivity(ILogger<SiloActivity> logger) : ILifecycleParticipant<ISiloLifecycle>, IHostedLifecycleService
{
    private volatile bool _active;

    public bool IsActive => _active;

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (_active)
        {
            _active = false;
            Draining(logger);
        }

        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = (int)IngestEventCode.ShutdownDraining, Level = LogLevel.Information, Message = "Shutdown requested: /readyz answers 503; finishing in-flight requests, then sealing segments, stopping the forwarder and leaving the cluster")]
    private static partial void Draining(ILogger logger);

    [LoggerMessage(EventId = (int)IngestEventCode.ShutdownLeaving, Level = LogLevel.Information, Message = "Silo leaving the cluster: grains deactivate (active segments are sealed) and the forwarder persists its checkpoints")]
    private static partial void Leaving(ILogger logger);

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
                Leaving(logger);
                return Task.CompletedTask;
            });
}
