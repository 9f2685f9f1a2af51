using Ingest.Configuration;
using Ingest.Topics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Hosting;

/// <summary>Whether a silo drains itself when it is stopped (<c>Cluster:DrainOnShutdown</c>), and for how long at most.</summary>
public sealed class ShutdownDrainOptions
{
    public bool Enabled { get; set; }

    /// <summary>The bound on the drain; the rest of the stop needs the remainder of <c>Cluster:ShutdownTimeout</c>.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan CheckPeriod { get; set; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// With <c>Cluster:DrainOnShutdown</c>, a stop (SIGTERM: a scale-down) first drains the silo as
/// <c>POST /v1/admin/nodes/{silo}/drain</c> does — listed in <c>drainedSilos</c>, topics handed over, disk
/// shipped — for at most <see cref="ShutdownDrainOptions.Timeout"/>, then stops as usual. It runs before the
/// forwarder stops. The entry stays (no topic may come back while the silo stops); it names this run of the silo
/// only, and the next drain request drops entries of silos that are gone. What is not shipped by then stays on
/// the disk and ships when a silo starts on it again.
/// </summary>
internal sealed partial class ShutdownDrain(
    NodeDrain drain,
    IGrainFactory grains,
    ILocalSiloDetails silo,
    IOptions<ShutdownDrainOptions> options,
    TimeProvider time,
    ILogger<ShutdownDrain> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    public void Participate(ISiloLifecycle lifecycle)
    {
        if (options.Value.Enabled)
        {
            // Stops before the stage the forwarder and NodeDrain stop at: both still work while this drains.
            lifecycle.Subscribe(nameof(ShutdownDrain), ServiceLifecycleStage.Active + 1, _ => Task.CompletedTask, DrainAsync);
        }
    }

    private async Task DrainAsync(CancellationToken cancellation)
    {
        var self = Forwarders.KeyFor(silo.SiloAddress);
        var started = time.GetTimestamp();
        try
        {
            var members = await DrainedSiloChange.MembersAsync(grains, CallTimeout, time);
            var change = await DrainedSiloChange.SetAsync(grains, self, drained: true, members, CallTimeout, time);
            drain.Adopt(change.Config); // a stopping silo may no longer hear the push
            Log.Draining(logger, change.Status.ToString(), options.Value.Timeout);
            while (drain.State().State != "drained" && time.GetElapsedTime(started) < options.Value.Timeout && !cancellation.IsCancellationRequested)
            {
                await Task.Delay(options.Value.CheckPeriod, time, cancellation);
            }

            var (state, waiting) = drain.State();
            Log.Done(logger, state, waiting ?? "nothing", time.GetElapsedTime(started));
        }
        catch (Exception e) when (e is OrleansException or TimeoutException or OperationCanceledException)
        {
            Log.Failed(logger, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = (int)IngestEventCode.ShutdownDrainStarted, Level = LogLevel.Information, Message = "Stopping: draining this silo first (Cluster:DrainOnShutdown; configuration change {Status}) for up to {Timeout}")]
        public static partial void Draining(ILogger logger, string status, TimeSpan timeout);

        [LoggerMessage(EventId = (int)IngestEventCode.ShutdownDrainDone, Level = LogLevel.Information, Message = "Stopping: drain ended {State} (left: {Waiting}) after {Elapsed}")]
        public static partial void Done(ILogger logger, string state, string waiting, TimeSpan elapsed);

        [LoggerMessage(EventId = (int)IngestEventCode.ShutdownDrainFailed, Level = LogLevel.Warning, Message = "Stopping: the drain could not be completed; stopping as usual")]
        public static partial void Failed(ILogger logger, Exception exception);
    }
}
