using Ingest.Forwarding;
using Ingest.Topics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Hosting;

/// <summary>Ends the process (tests record the code instead).</summary>
internal interface IProcessExit
{
    void Exit(int code);
}

internal sealed class EnvironmentExit : IProcessExit
{
    public void Exit(int code) => Environment.Exit(code);
}

/// <summary>How long a silo that leaves the cluster may take to seal and ship (set from <c>Cluster:ShutdownTimeout</c>).</summary>
public sealed class SiloRemovalOptions
{
    /// <summary>The bound on the whole exit: sealing, then shipping the backlog to Kafka. What is not shipped by then ships at the next start.</summary>
    public TimeSpan LeaveTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>How often progress is checked while leaving.</summary>
    public TimeSpan CheckPeriod { get; set; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>
/// What a silo does when it no longer belongs to the cluster. In Orleans 10 the fatal-error handler is called
/// for membership only: the silo read its own row as Dead (it was declared dead, typically while it was cut
/// off; no exception), or one of its membership loops failed (an exception). Orleans' own handler logs a
/// "FATAL EXCEPTION" with stack traces and ends the process with <c>Environment.FailFast</c> (SIGABRT, exit code
/// 134), leaving segments open. This one leaves cleanly, within <see cref="SiloRemovalOptions.LeaveTimeout"/>:
/// <list type="number">
/// <item>no append is written any more (503; the store says why, so <c>/readyz</c> is 503 too);</item>
/// <item>every open segment is sealed (a commit in flight completes first and gets its answer);</item>
/// <item>the backlog ships to Kafka directly from this silo's disk (the forwarder does not need the cluster), until
/// none is left or the bound is reached;</item>
/// <item>the forwarder stops and persists its checkpoints;</item>
/// <item>the process exits with <see cref="ExitCodes.RemovedFromCluster"/>. Started again on the same disk, the silo
/// joins as a new member and ships whatever is left.</item>
/// </list>
/// Records shipped now reach Kafka after newer ones of the same topic that the silo which took the topic over
/// has shipped: across a move, order holds per silo, as after any failover.
/// </summary>
internal sealed partial class SiloRemoval(
    TopicWriters writers,
    IShippingBacklog shipping,
    IProcessExit exit,
    IOptions<SiloRemovalOptions> options,
    TimeProvider time,
    ILogger<SiloRemoval> logger) : IFatalErrorHandler
{
    private readonly SiloRemovalOptions _options = options.Value;
    private int _leaving;

    public bool IsUnexpected(Exception exception) => exception is not ThreadInterruptedException;

    public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
    {
        if (Interlocked.Exchange(ref _leaving, 1) != 0)
        {
            return; // the first call leads the exit
        }

        // Orleans calls this from its membership loop; the exit runs on the thread pool and that loop waits for it.
        var code = Task.Run(() => LeaveAsync(context, exception)).GetAwaiter().GetResult();
        exit.Exit(code);
    }

    /// <summary>Seals, ships and stops; returns the exit code.</summary>
    internal async Task<int> LeaveAsync(string? context, Exception? exception)
    {
        string reason;
        if (exception is null)
        {
            reason = "this silo was declared dead by the cluster and is leaving; its topics are served by the other silos";
            Log.Removed(logger, context ?? "");
        }
        else
        {
            reason = "this silo's cluster membership failed and it is leaving; its topics are served by the other silos";
            Log.MembershipFailed(logger, exception, context ?? "");
        }

        var began = time.GetTimestamp();
        var deadline = began + (long)(_options.LeaveTimeout.TotalSeconds * time.TimestampFrequency);
        writers.CloseAll(reason);
        using var timer = new PeriodicTimer(_options.CheckPeriod, time);
        // A writer that had just started a commit when the store closed opens its segment after the first pass: close again.
        while (writers.OpenSegments > 0 && time.GetTimestamp() < deadline && await timer.WaitForNextTickAsync())
        {
            writers.CloseAll(reason);
        }

        var left = (Records: 0L, Bytes: 0L);
        if (shipping.IsRunning)
        {
            var before = shipping.Backlog();
            Log.Shipping(logger, writers.OpenSegments, before.Records, before.Bytes, _options.LeaveTimeout);
            left = before;
            while (left.Bytes > 0 && time.GetTimestamp() < deadline && await timer.WaitForNextTickAsync())
            {
                left = shipping.Backlog();
            }

            var remaining = TimeSpan.FromSeconds((double)(deadline - time.GetTimestamp()) / time.TimestampFrequency);
            await shipping.StopAsync(remaining > TimeSpan.FromSeconds(1) ? remaining : TimeSpan.FromSeconds(1));
        }

        var code = ExitCodes.RemovedFromCluster;
        var took = time.GetElapsedTime(began);
        Log.Done(logger, took.TotalSeconds, writers.OpenSegments, left.Records, code);
        // The console logger writes on a background queue that Environment.Exit does not drain: say it on stderr too.
        Console.Error.WriteLine(
            $"Left the cluster ({(exception is null ? "declared dead" : "membership failed")}) in {took.TotalSeconds:0.0} s: {writers.OpenSegments} segments left open, " +
            $"{left.Records} records not yet in Kafka (they ship at the next start on this disk); exiting with code {code}.");
        return code;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = (int)IngestEventCode.LeavingRemoved, Level = LogLevel.Warning, Message = "The cluster declared this silo dead ({Context}): leaving cleanly (appends refused, segments sealed, backlog shipped, then exit)")]
        public static partial void Removed(ILogger logger, string context);

        [LoggerMessage(EventId = (int)IngestEventCode.LeavingMembershipFailed, Level = LogLevel.Critical, Message = "This silo's cluster membership failed ({Context}): leaving cleanly (appends refused, segments sealed, backlog shipped, then exit)")]
        public static partial void MembershipFailed(ILogger logger, Exception exception, string context);

        [LoggerMessage(EventId = (int)IngestEventCode.LeavingShipping, Level = LogLevel.Information, Message = "Leaving: {Open} segments still open; shipping the backlog of {Records} records ({Bytes} bytes) for up to {Timeout}")]
        public static partial void Shipping(ILogger logger, int open, long records, long bytes, TimeSpan timeout);

        [LoggerMessage(EventId = (int)IngestEventCode.LeavingDone, Level = LogLevel.Warning, Message = "Left the cluster in {Seconds:0.0} s: {Open} segments left open, {Records} records not yet in Kafka (they ship at the next start on this disk); exiting with code {Code}")]
        public static partial void Done(ILogger logger, double seconds, int open, long records, int code);
    }
}
