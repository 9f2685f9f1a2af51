using Ingest.Configuration;
using Ingest.Forwarding;
using Ingest.Topics;
using Microsoft.Extensions.Logging;

namespace Ingest.Hosting;

/// <summary>
/// Drains this silo while the cluster configuration lists it in <c>drainedSilos</c>: it reports not ready (so a
/// load balancer stops sending it requests), the topic placement of every node leaves it out, and each topic
/// grain active here is handed over (sealed, then deactivated: its next append activates it on another silo).
/// The forwarder goes on shipping this silo's disk; the silo is <c>drained</c> once no topic is active here,
/// no segment is open and nothing waits for Kafka. Taken out of the list, it takes work again.
/// </summary>
internal sealed partial class NodeDrain(
    LiveConfig config,
    ILocalSiloDetails silo,
    TopicWriters writers,
    IShippingBacklog shipping,
    IGrainFactory grains,
    ILogger<NodeDrain> logger) : ILifecycleParticipant<ISiloLifecycle>, IDrainState
{
    private static readonly TimeSpan HandOverPeriod = TimeSpan.FromSeconds(1);
    private IDisposable? _subscription;
    private CancellationTokenSource? _handOver;
    private volatile bool _draining;
    private volatile bool _drainedLogged;

    /// <summary>Takes a configuration this silo changed itself at once (the push to the other nodes may still be on its way).</summary>
    public void Adopt(ClusterConfig changed) => config.Offer(changed);

    /// <summary>Whether this silo is being drained (or is drained).</summary>
    public bool Draining => _draining;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(
            nameof(NodeDrain),
            ServiceLifecycleStage.Active,
            _ =>
            {
                _subscription = config.Subscribe(OnConfig);
                return Task.CompletedTask;
            },
            _ =>
            {
                _subscription?.Dispose();
                _handOver?.Cancel();
                return Task.CompletedTask;
            });

    /// <summary>This silo's state for <c>/v1/status</c>: <c>serving</c>, <c>draining</c> (with what it waits for) or <c>drained</c>.</summary>
    public (string State, string? Waiting) State()
    {
        if (!_draining)
        {
            return ("serving", null);
        }

        var topics = writers.ActiveTopics.Count;
        var open = writers.OpenSegments;
        var (records, _) = shipping.Backlog();
        if (topics == 0 && open == 0 && records == 0)
        {
            if (!_drainedLogged)
            {
                _drainedLogged = true;
                Log.Drained(logger);
            }

            return ("drained", null);
        }

        var waiting = topics > 0 || open > 0
            ? $"{topics} topic(s) still active here, {open} segment(s) open"
            : shipping.IsRunning ? $"{records} record(s) not yet acknowledged by Kafka" : $"{records} record(s) unshipped, and forwarding is off on this silo";
        return ("draining", waiting);
    }

    internal void OnConfig(ClusterConfig current)
    {
        var drained = DrainedSilos.Contains(current, silo.SiloAddress);
        if (drained == _draining)
        {
            return;
        }

        _draining = drained;
        _handOver?.Cancel();
        if (drained)
        {
            _drainedLogged = false;
            Log.Started(logger, writers.ActiveTopics.Count);
            _handOver = new CancellationTokenSource();
            _ = HandOverAsync(_handOver.Token);
        }
        else
        {
            Log.Ended(logger);
        }
    }

    /// <summary>Hands over every topic grain active here, again each second while any is (one can be reactivated by a call already routed here).</summary>
    private async Task HandOverAsync(CancellationToken cancellation)
    {
        try
        {
            while (!cancellation.IsCancellationRequested)
            {
                var topics = writers.ActiveTopics.ToList();
                if (topics.Count > 0)
                {
                    var handed = await Task.WhenAll(topics.Select(async topic =>
                    {
                        try
                        {
                            await grains.GetGrain<ITopicGrain>(topic).HandOver();
                            return true;
                        }
                        catch (Exception e) when (e is OrleansException or TimeoutException)
                        {
                            return false; // tried again next round
                        }
                    }));
                    Log.HandedOver(logger, handed.Count(h => h), topics.Count);
                }

                await Task.Delay(HandOverPeriod, cancellation);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = (int)IngestEventCode.DrainStarted, Level = LogLevel.Warning, Message = "This silo is drained by the cluster configuration: not ready, no new topics, handing over {Topics} active topic(s) and shipping what it holds")]
        public static partial void Started(ILogger logger, int topics);

        [LoggerMessage(EventId = (int)IngestEventCode.DrainHandedOver, Level = LogLevel.Information, Message = "Drain: handed over {Handed} of {Topics} topic(s) active here")]
        public static partial void HandedOver(ILogger logger, int handed, int topics);

        [LoggerMessage(EventId = (int)IngestEventCode.Drained, Level = LogLevel.Information, Message = "Drained: no topic is active here and nothing waits for Kafka; the silo can be stopped")]
        public static partial void Drained(ILogger logger);

        [LoggerMessage(EventId = (int)IngestEventCode.DrainEnded, Level = LogLevel.Information, Message = "No longer drained: this silo takes work again")]
        public static partial void Ended(ILogger logger);
    }
}
