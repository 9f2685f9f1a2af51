using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ingest.Configuration;

/// <summary>
/// Keeps <see cref="LiveConfig"/> current on this node: subscribes to the <see cref="IConfigGrain"/>,
/// which pushes every change at once, and re-subscribes every <see cref="RecheckPeriod"/> as a safety
/// net (a lost push, a configuration grain that moved to another silo after a failure). Until the
/// first answer it retries every second. A failed check keeps the last configuration in force.
/// </summary>
public sealed partial class ConfigSubscriber(IGrainFactory grains, LiveConfig live, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<ConfigSubscriber> logger)
    : IHostedService, IConfigObserver, IAsyncDisposable
{
    public static readonly TimeSpan RecheckPeriod = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstContactPeriod = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _checkNow = new(0, 1);
    private readonly string _node = $"{Environment.MachineName}/{Environment.ProcessId}/{System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name}";
    private IConfigObserver? _reference;
    private Task _loop = Task.CompletedTask;
    private bool _failing;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        await _loop;
        if (_reference is not null)
        {
            try
            {
                await grains.GetGrain<IConfigGrain>(IConfigGrain.Key).Unsubscribe(_reference).WaitAsync(CallTimeout, time, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The grain forgets unrenewed subscriptions by itself.
            }

            grains.DeleteObjectReference<IConfigObserver>(_reference);
            _reference = null;
        }
    }

    /// <summary>Pushed by the configuration grain. The node reports its new version right away.</summary>
    public Task Changed(ClusterConfig config)
    {
        Apply(config, "pushed");
        return Task.CompletedTask;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        // Not before the host has started: a frontend's Orleans client is connected (and knows the grain
        // types) only then; asking earlier fails with "no implementation for IConfigGrain".
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (cancellationToken.Register(() => started.TrySetCanceled()))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            await CheckAsync(cancellationToken);
            try
            {
                // The re-check schedule, cut short when a push arrived (to report the new version at once).
                await _checkNow.WaitAsync(live.FromCluster ? RecheckPeriod : FirstContactPeriod, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            _reference ??= grains.CreateObjectReference<IConfigObserver>(this);
            var newer = await grains.GetGrain<IConfigGrain>(IConfigGrain.Key)
                .Subscribe(_reference, _node, live.Current.Version)
                .WaitAsync(CallTimeout, time, cancellationToken);
            if (_failing)
            {
                _failing = false;
                ClusterReachedAgain(logger, live.Current.Version);
            }

            if (newer is not null)
            {
                Apply(newer, "fetched");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            if (!_failing)
            {
                _failing = true;
                CheckFailed(logger, e, live.Current.Version);
            }
        }
    }

    /// <summary>Takes a newer configuration and has the loop report the new version to the grain at once.</summary>
    private void Apply(ClusterConfig config, string how)
    {
        if (!live.Offer(config))
        {
            return;
        }

        ConfigApplied(logger, config.Version, how);
        if (_checkNow.CurrentCount == 0)
        {
            try
            {
                _checkNow.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        _stop.Dispose();
        _checkNow.Dispose();
        
    }

    // Only versions are logged: a configuration holds key hashes and Kafka credentials.
    [LoggerMessage(EventId = (int)IngestEventCode.ConfigInForce, Level = LogLevel.Information, Message = "Configuration version {Version} in force ({How})")]
    private static partial void ConfigApplied(ILogger logger, long version, string how);

    [LoggerMessage(EventId = (int)IngestEventCode.ConfigGrainUnreachable, Level = LogLevel.Warning, Message = "Cannot reach the configuration grain; configuration version {Version} stays in force")]
    private static partial void CheckFailed(ILogger logger, Exception exception, long version);

    [LoggerMessage(EventId = (int)IngestEventCode.ConfigGrainReachable, Level = LogLevel.Information, Message = "Configuration grain reachable again; this node has version {Version}")]
    private static partial void ClusterReachedAgain(ILogger logger, long version);
}
