using Ingest.Topics;
using Orleans.Placement;

namespace Ingest.Forwarding;

/// <summary>
/// The forwarding grain of one silo: keyed by the silo's address, placed locally by the silo itself at
/// start, and refusing to activate on any other silo (it must read this silo's disk). It owns the
/// <see cref="ForwardingEngine"/>; a grain timer rescans the data directory every second as a safety
/// net behind the append signals, and keeps the activation alive.
/// </summary>
[GrainType("ingest.forwarder")]
[PreferLocalPlacement]
internal sealed class ForwarderGrain(ForwardingEngine engine, ILocalSiloDetails silo, Microsoft.Extensions.Options.IOptions<Kafka.KafkaOptions> kafka) : Grain, IForwarderGrain
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    public static string KeyFor(SiloAddress address) => Forwarders.KeyFor(address);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        if (key != KeyFor(silo.SiloAddress))
        {
            throw new InvalidOperationException($"The forwarder for silo {key} must run on that silo, not on {silo.SiloAddress}.");
        }

        if (!kafka.Value.Enabled)
        {
            return Task.CompletedTask; // store-only silo: answers status and replay queries, ships nothing
        }

        engine.Start();
        this.RegisterGrainTimer(
            _ =>
            {
                engine.Rescan();
                return Task.CompletedTask;
            },
            new GrainTimerCreationOptions { DueTime = TimeSpan.FromSeconds(1), Period = TimeSpan.FromSeconds(1), KeepAlive = true, Interleave = true });
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        engine.StopAsync(StopGrace);

    public Task Start() => Task.CompletedTask;

    public Task Stop() => engine.StopAsync(StopGrace);

    public Task<IReadOnlyList<TopicForwardingStatus>> GetStatus() => Task.FromResult(engine.Status());

    public Task<ReplayStatus> StartReplay(ReplayRequest request)
    {
        if (!kafka.Value.Enabled)
        {
            throw new InvalidOperationException("Forwarding to Kafka is disabled on this silo (Kafka:Enabled=false): there is nothing to replay into.");
        }

        return Task.FromResult(engine.StartReplay(request));
    }

    public Task<ReplayStatus?> GetReplay(string id) => Task.FromResult(engine.GetReplay(id));
}

/// <summary>Activates this silo's forwarder when the silo becomes active, and stops it first at shutdown.</summary>
internal sealed class ForwarderLifecycle(IGrainFactory grains, ILocalSiloDetails silo, Microsoft.Extensions.Options.IOptions<Kafka.KafkaOptions> kafka) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle)
    {
        if (!kafka.Value.Enabled)
        {
            return;
        }

        lifecycle.Subscribe(
            nameof(ForwarderLifecycle),
            ServiceLifecycleStage.Active,
            _ => grains.GetGrain<IForwarderGrain>(ForwarderGrain.KeyFor(silo.SiloAddress)).Start(),
            _ => grains.GetGrain<IForwarderGrain>(ForwarderGrain.KeyFor(silo.SiloAddress)).Stop());
    }
}
