using Ingest.Diagnostics;
using Ingest.Api.Options;
using Microsoft.Extensions.Options;

namespace Ingest.Silo.Hosting;

/// <summary>
/// Bounds a graceful stop. After SIGTERM the silo drains, seals and leaves the cluster; but leaving
/// needs the membership store, and a silo whose Redis is gone was measured to hang in shutdown
/// indefinitely. Past <see cref="ClusterSettings.ShutdownTimeout"/> the process exits on its own, with an
/// error in the log. That is safe: every 202'd record is already on disk (written, or fsync'd under
/// Fsync durability), and a checkpoint that lags only means bounded re-sends, as after a SIGKILL.
/// </summary>
internal sealed partial class ShutdownDeadline(IHostApplicationLifetime lifetime, IOptions<ClusterSettings> cluster, TimeProvider time, ILogger<ShutdownDeadline> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() =>
        {
            var timeout = cluster.Value.ShutdownTimeout;
            // A timer, not a wait for an event: the deadline itself is the point.
            _ = time.CreateTimer(_ =>
            {
                Exceeded(logger, timeout);
                // The console logger writes on a background queue that Environment.Exit does not drain:
                // say it on stderr directly too, so the reason for the exit is never lost.
                Console.Error.WriteLine($"Graceful shutdown did not finish within Cluster:ShutdownTimeout ({timeout}); exiting with code 3.");
                Environment.Exit(ExitCodes.ShutdownTimeout);
            }, null, timeout, Timeout.InfiniteTimeSpan);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = (int)IngestEventCode.ShutdownExceeded, Level = LogLevel.Error, Message = "Graceful shutdown did not finish within Cluster:ShutdownTimeout ({Timeout}); exiting now. Records already acknowledged are on disk; the forwarder resumes from its checkpoint at the next start.")]
    private static partial void Exceeded(ILogger logger, TimeSpan timeout);
}
