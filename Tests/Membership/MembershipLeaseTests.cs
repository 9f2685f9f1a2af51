using System.Collections.Immutable;
using System.Net;
using System.Reflection;
using Ingest.Membership;
using Ingest.Topics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.Runtime;

namespace Ingest.Tests.Membership;

/// <summary>
/// The membership lease decides whether a silo may take appends: with a fake membership table, fake peers and a
/// fake clock, each way of confirming and each way of failing to.
/// </summary>
public sealed class MembershipLeaseTests
{
    private static readonly SiloAddress Self = SiloAddress.New(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 11111), 1);
    private static readonly SiloAddress Peer = SiloAddress.New(new IPEndPoint(IPAddress.Parse("10.0.0.3"), 11111), 1);

    private readonly FakeTimeProvider _time = new();
    private readonly FakeTable _table = new();
    private readonly FakePeers _peers = new();

    private Ingest.Diagnostics.IngestInstruments Instruments => Infrastructure.UnitInstruments.For(new Ingest.Storage.DiskBudget(
        Microsoft.Extensions.Options.Options.Create(new Ingest.Options.IngestOptions { DataDirectory = Path.GetTempPath() }), _time), _time);

    [Fact]
    public async Task a_silo_whose_own_row_reads_active_stands()
    {
        var lease = Lease();
        _table.Status = SiloStatus.Active;
        _time.Advance(TimeSpan.FromSeconds(10));

        await lease.CheckAsync();

        Assert.Null(lease.Fenced);
    }

    [Fact]
    public async Task a_silo_that_reaches_neither_the_table_nor_its_peers_is_fenced_after_the_isolation_timeout_and_stands_again_once_it_confirms()
    {
        var lease = Lease();
        _table.Reachable = false;
        _peers.Answering = false;

        _time.Advance(TimeSpan.FromSeconds(3));
        await lease.CheckAsync();
        Assert.Null(lease.Fenced); // within the 4 s it may keep going

        _time.Advance(TimeSpan.FromSeconds(2));
        await lease.CheckAsync();
        Assert.Contains("has not confirmed its membership", lease.Fenced);

        _table.Reachable = true;
        await lease.CheckAsync();
        Assert.Null(lease.Fenced);
    }

    [Fact]
    public async Task when_the_table_is_unreachable_for_everyone_peers_that_answer_keep_the_silo_standing()
    {
        var lease = Lease();
        _table.Reachable = false;
        _peers.Answering = true;

        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await lease.CheckAsync();
        }

        Assert.Null(lease.Fenced);
        Assert.True(_peers.Pings >= 10, "the peer was asked each time");
    }

    [Fact]
    public async Task a_silo_whose_own_row_reads_dead_is_fenced_at_once_and_stays_fenced()
    {
        var lease = Lease();
        _table.Status = SiloStatus.Dead;

        await lease.CheckAsync();
        Assert.Contains("declared dead", lease.Fenced);

        _table.Status = SiloStatus.Active;
        _peers.Answering = true;
        await lease.CheckAsync();
        Assert.Contains("declared dead", lease.Fenced);
    }

    private MembershipLease Lease()
    {
        var grains = DispatchProxy.Create<IGrainFactory, PeerFactory>();
        ((PeerFactory)(object)grains).Peers = _peers;
        var lease = new MembershipLease(_table, new PeerProbe(new OnePeer(), new SelfDetails(), grains, _time),
            Microsoft.Extensions.Options.Options.Create(new MembershipLeaseOptions()), _time, Instruments, NullLogger<MembershipLease>.Instance);
        lease.Begin();
        return lease;
    }

    private sealed class FakeTable : IMembershipTable
    {
        public bool Reachable { get; set; } = true;

        public SiloStatus Status { get; set; } = SiloStatus.Active;

        public Task<MembershipTableData> ReadRow(SiloAddress key)
        {
            if (!Reachable)
            {
                throw new TimeoutException("redis unreachable");
            }

            var entry = new MembershipEntry { SiloAddress = key, Status = Status, SiloName = "self", HostName = "self", StartTime = DateTime.UtcNow, IAmAliveTime = DateTime.UtcNow };
            return Task.FromResult(new MembershipTableData(Tuple.Create(entry, "etag"), new TableVersion(1, "v")));
        }

        public Task InitializeMembershipTable(bool tryInitTableVersion) => throw new NotSupportedException();

        public Task DeleteMembershipTableEntries(string clusterId) => throw new NotSupportedException();

        public Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate) => throw new NotSupportedException();

        public Task<MembershipTableData> ReadAll() => throw new NotSupportedException();

        public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion) => throw new NotSupportedException();

        public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion) => throw new NotSupportedException();

        public Task UpdateIAmAlive(MembershipEntry entry) => throw new NotSupportedException();
    }

    private sealed class OnePeer : IClusterMembershipService
    {
        public ClusterMembershipSnapshot CurrentSnapshot { get; } = new(
            ImmutableDictionary<SiloAddress, ClusterMember>.Empty
                .Add(Self, new ClusterMember(Self, SiloStatus.Active, "self"))
                .Add(Peer, new ClusterMember(Peer, SiloStatus.Active, "peer")),
            new MembershipVersion(1));

        public IAsyncEnumerable<ClusterMembershipSnapshot> MembershipUpdates => throw new NotSupportedException();

        public ValueTask Refresh(MembershipVersion minimumVersion = default, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<bool> TryKill(SiloAddress siloAddress) => throw new NotSupportedException();
    }

    private sealed class SelfDetails : ILocalSiloDetails
    {
        public string Name => "self";

        public string ClusterId => "test";

        public string DnsHostName => "self";

        public SiloAddress SiloAddress => Self;

        public SiloAddress GatewayAddress => Self;
    }

    private sealed class FakePeers
    {
        public bool Answering { get; set; }

        public int Pings;
    }

    /// <summary>Hands out the peer's forwarding grain, which answers <c>Ping</c> when the test says so.</summary>
    public class PeerFactory : DispatchProxy
    {
        internal object Peers { get; set; } = null!;

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method is { Name: nameof(IGrainFactory.GetGrain), IsGenericMethod: true } && method.GetGenericArguments()[0] == typeof(IForwarderGrain))
            {
                var grain = DispatchProxy.Create<IForwarderGrain, PeerGrain>();
                ((PeerGrain)(object)grain).Peers = (FakePeers)Peers;
                return grain;
            }

            throw new NotSupportedException(method?.Name);
        }
    }

    public class PeerGrain : DispatchProxy
    {
        internal object Peers { get; set; } = null!;

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            var peers = (FakePeers)Peers;
            if (method?.Name != nameof(IForwarderGrain.Ping))
            {
                throw new NotSupportedException(method?.Name);
            }

            Interlocked.Increment(ref peers.Pings);
            return peers.Answering ? Task.CompletedTask : Task.FromException(new TimeoutException("peer unreachable"));
        }
    }
}
