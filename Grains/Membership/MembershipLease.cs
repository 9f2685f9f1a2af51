using Ingest.Topics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ingest.Membership;

/// <summary>Whether this silo may take appends now, and if not, why (the answer's detail).</summary>
public interface IClusterStanding
{
    /// <summary>Null while this silo stands in the cluster; else why it must not take appends.</summary>
    string? Fenced { get; }
}

/// <summary>A single silo on localhost: nobody else can own its topics.</summary>
internal sealed class SoleSilo : IClusterStanding
{
    public string? Fenced => null;
}

/// <summary>Settings of the lease, from section <c>Cluster</c> (set by the Silo host).</summary>
public sealed class MembershipLeaseOptions
{
    /// <summary>How long this silo takes appends without confirming its membership. Keep it below the time the others need to declare it dead.</summary>
    public TimeSpan IsolationTimeout { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>How often it confirms (and the longest one confirmation may take).</summary>
    public TimeSpan CheckPeriod { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// The silo's lease on its topics. Orleans gives each topic one activation, but a silo that is cut off
/// cannot learn that the others declared it dead and activated its topics elsewhere. So every
/// <see cref="MembershipLeaseOptions.CheckPeriod"/> the silo confirms that it still stands: its own row in the
/// membership table reads Active, or, when the table cannot be read (Redis down for everyone), a majority of
/// the other active silos answer. Without a confirmation for <see cref="MembershipLeaseOptions.IsolationTimeout"/>
/// (shorter than the others need to declare it dead), and at once when its row reads Dead, it is fenced:
/// topic grains answer 503 with <c>Retry-After</c> and <c>/readyz</c> 503, until it confirms again.
/// </summary>
internal sealed partial class MembershipLease(
    IMembershipTable table,
    PeerProbe peers,
    IOptions<MembershipLeaseOptions> options,
    TimeProvider time,
    Diagnostics.IngestInstruments instruments,
    ILogger<MembershipLease> logger) : IClusterStanding, ILifecycleParticipant<ISiloLifecycle>
{
    private readonly MembershipLeaseOptions _options = options.Value;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private long _confirmed;
    private volatile bool _removed;
    private bool _saidFenced;

    public string? Fenced
    {
        get
        {
            if (_removed)
            {
                return "this silo was declared dead by the cluster; its topics are served by the other silos";
            }

            var since = time.GetElapsedTime(Volatile.Read(ref _confirmed));
            if (since <= _options.IsolationTimeout)
            {
                return null;
            }

            return $"this silo has not confirmed its membership for {since.TotalSeconds:0} s (membership table and other silos unreachable); its topics may be served elsewhere";
        }
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(MembershipLease), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        Begin();
        _loop = LoopAsync();
        return Task.CompletedTask;
    }

    /// <summary>The lease starts as confirmed: the silo has just joined.</summary>
    internal void Begin() => Volatile.Write(ref _confirmed, time.GetTimestamp());

    private async Task Stop(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        await _loop;
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(_options.CheckPeriod, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await CheckAsync();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>One confirmation: renews the lease when it succeeds, and logs when the silo becomes fenced or stands again.</summary>
    internal async Task CheckAsync()
    {
        var outcome = await ConfirmAsync();
        instruments.MembershipChecks.Add(1, new KeyValuePair<string, object?>(Diagnostics.IngestInstruments.OutcomeTag, outcome));
        if (outcome is "table" or "peers")
        {
            Volatile.Write(ref _confirmed, time.GetTimestamp());
        }

        var fenced = Fenced;
        if (fenced is not null && !_saidFenced)
        {
            Log.Fenced(logger, fenced);
        }
        else if (fenced is null && _saidFenced)
        {
            Log.Confirmed(logger);
        }

        _saidFenced = fenced is not null;
    }

    /// <summary>
    /// "table" when this silo's own row reads Active, "peers" when the table is unreachable and a majority of its
    /// peers answer, else "dead" (its row reads Dead) or "unconfirmed".
    /// </summary>
    internal async Task<string> ConfirmAsync()
    {
        try
        {
            var rows = await table.ReadRowAsync(peers.Self).WaitAsync(_options.CheckPeriod, time);
            var own = rows.Members.Select(m => m.Item1).FirstOrDefault(m => m.SiloAddress.Equals(peers.Self));
            if (own?.Status == SiloStatus.Dead)
            {
                if (!_removed)
                {
                    _removed = true;
                    Log.Removed(logger);
                }

                return "dead";
            }

            return own?.Status == SiloStatus.Active ? "table" : "unconfirmed";
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
        {
            // The table is unreachable: the peers decide.
        }

        return await peers.MajorityAnswersAsync(_options.CheckPeriod) ? "peers" : "unconfirmed";
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = (int)IngestEventCode.MembershipFenced, Level = LogLevel.Warning, Message = "Appends refused (503) and /readyz 503: {Reason}")]
        public static partial void Fenced(ILogger logger, string reason);

        [LoggerMessage(EventId = (int)IngestEventCode.MembershipRemoved, Level = LogLevel.Warning, Message = "This silo's row in the membership table reads Dead: appends refused (503); the silo leaves the cluster (README, Failure model)")]
        public static partial void Removed(ILogger logger);

        [LoggerMessage(EventId = (int)IngestEventCode.MembershipConfirmed, Level = LogLevel.Information, Message = "Membership confirmed again: appends accepted")]
        public static partial void Confirmed(ILogger logger);
    }
}

/// <summary>Asks the other active silos (their forwarding grains, which live on them) whether they answer.</summary>
internal sealed class PeerProbe(IClusterMembershipService membership, ILocalSiloDetails self, IGrainFactory grains, TimeProvider time)
{
    /// <summary>This silo.</summary>
    public SiloAddress Self => self.SiloAddress;

    /// <summary>True when more than half of the other active silos in this silo's view answer within <paramref name="within"/>.</summary>
    public async Task<bool> MajorityAnswersAsync(TimeSpan within)
    {
        var peers = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(self.SiloAddress))
            .Select(m => m.SiloAddress)
            .ToList();
        if (peers.Count == 0)
        {
            return false;
        }

        var answers = await Task.WhenAll(peers.Select(peer => AnswersAsync(peer, within)));
        return answers.Count(answered => answered) * 2 > peers.Count;
    }

    private async Task<bool> AnswersAsync(SiloAddress peer, TimeSpan within)
    {
        try
        {
            await grains.GetGrain<IForwarderGrain>(Forwarders.KeyFor(peer)).Ping().WaitAsync(within, time);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
