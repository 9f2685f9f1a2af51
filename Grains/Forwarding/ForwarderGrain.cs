using Ingest.Topics;

namespace Ingest.Forwarding;

/// <summary>
/// The forwarding grain of one silo: keyed by the silo's address, placed on that silo, and refusing to
/// activate on any other silo (it must read this silo's disk). It is the cluster-facing handle of the
/// silo's <see cref="ForwardingEngine"/> (status, replay; <see cref="ForwarderLifecycle"/> starts and stops the engine). The engine itself lives as long
/// as the silo, not as long as this activation: the runtime may deactivate a grain at any time (after
/// another silo died, directory changes were measured doing exactly that), and shipping must not stop
/// with it.
/// </summary>
[GrainType("ingest.forwarder")]
[ForwarderPlacement]
internal sealed class ForwarderGrain(ForwardingEngine engine, Storage.SegmentStore store, IDrainState drain, ILocalSiloDetails silo, Microsoft.Extensions.Options.IOptions<Kafka.KafkaOptions> kafka) : Grain, IForwarderGrain
{
    /// <summary>How long a stop lets delivery reports in flight arrive before checkpoints are persisted.</summary>
    internal static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    public static string KeyFor(SiloAddress address) => Forwarders.KeyFor(address);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        if (key != KeyFor(silo.SiloAddress))
        {
            throw new InvalidOperationException($"The forwarder for silo {key} must run on that silo, not on {silo.SiloAddress}.");
        }

        return Task.CompletedTask;
    }

    public Task Ping() => Task.CompletedTask;

    public Task<IReadOnlyList<TopicForwardingStatus>> GetStatus() => Task.FromResult(engine.Status());

    public Task<NodeStatus> GetNodeStatus()
    {
        var (state, waiting) = drain.State();
        return Task.FromResult(engine.NodeStatus(this.GetPrimaryKeyString(), store.Budget) with { State = state, Waiting = waiting });
    }

    public Task<ReplayStatus> StartReplay(ReplayRequest request)
    {
        if (!kafka.Value.Enabled)
        {
            throw new InvalidOperationException("Forwarding to Kafka is disabled on this silo (Kafka:Enabled=false): there is nothing to replay into.");
        }

        return Task.FromResult(engine.StartReplay(request));
    }

    public Task<ReplayStatus?> GetReplay(string id) => Task.FromResult(engine.GetReplay(id));

    public Task<IReadOnlyList<AuditHour>> GetAudit(string topic, long fromMs, long toMs)
    {
        var rows = store.Audit.Read(topic, Audit.AuditClock.HourOf(fromMs), Audit.AuditClock.HourOf(toMs - 1) + 1);
        return Task.FromResult<IReadOnlyList<AuditHour>>(rows.Select(r => r.Value.ToHour(r.Key)).ToArray());
    }
}

/// <summary>Starts this silo's forwarding engine when the silo becomes active, and stops it first at shutdown.</summary>
internal sealed class ForwarderLifecycle(ForwardingEngine engine, Microsoft.Extensions.Options.IOptions<Kafka.KafkaOptions> kafka) : ILifecycleParticipant<ISiloLifecycle>
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
            _ =>
            {
                engine.Start();
                return Task.CompletedTask;
            },
            _ => engine.StopAsync(ForwarderGrain.StopGrace));
    }
}
