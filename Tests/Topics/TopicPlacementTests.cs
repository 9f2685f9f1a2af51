using System.Net;
using Ingest.Configuration;
using Ingest.Topics;
using Orleans.Runtime.Placement;

namespace Ingest.Tests.Topics;

/// <summary>Where topic grains activate: spread by hash over the silos, never on a drained one while another serves.</summary>
public sealed class TopicPlacementTests
{
    private static readonly SiloAddress[] Silos = [.. Enumerable.Range(0, 3).Select(i => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111 + i), 100 + i))];

    [Fact]
    public async Task a_drained_silo_gets_no_topic_the_others_share_them_and_taken_back_it_gets_its_share_again()
    {
        var config = new LiveConfig(new ClusterConfig());
        var director = new TopicShardPlacementDirector(config);
        config.Offer(new ClusterConfig { Version = 1, DrainedSilos = [Forwarders.KeyFor(Silos[1])] });

        var drained = await PlaceAsync(director, 300);
        Assert.DoesNotContain(Silos[1], drained);
        Assert.Contains(Silos[0], drained);
        Assert.Contains(Silos[2], drained);

        config.Offer(new ClusterConfig { Version = 2 });
        var served = await PlaceAsync(director, 300);
        Assert.True(served.Count(s => s.Equals(Silos[1])) > 50, "taken back, silo 1 gets about a third of the topics again");
    }

    [Fact]
    public async Task when_every_silo_is_drained_topics_are_still_placed_rather_than_refused()
    {
        var config = new LiveConfig(new ClusterConfig());
        config.Offer(new ClusterConfig { Version = 1, DrainedSilos = [.. Silos.Select(Forwarders.KeyFor)] });

        var placed = await PlaceAsync(new TopicShardPlacementDirector(config), 30);

        Assert.Equal(30, placed.Count);
    }

    [Fact]
    public void a_drained_entry_must_be_a_silo_address_as_the_status_names_it()
    {
        var errors = ConfigRules.Validate(new ClusterConfig { DrainedSilos = [Forwarders.KeyFor(Silos[0]), "10.0.0.7", "not a silo"] });

        Assert.Equal(["drainedSilos[1]", "drainedSilos[2]"], errors.Where(e => e.StartsWith("drainedSilos", StringComparison.Ordinal)).Select(e => e[..e.IndexOf(' ')]));
    }

    private static async Task<List<SiloAddress>> PlaceAsync(TopicShardPlacementDirector director, int topics)
    {
        var placed = new List<SiloAddress>();
        for (var i = 0; i < topics; i++)
        {
            var target = new PlacementTarget(GrainId.Create("ingest.topic", $"topic-{i}"), new Dictionary<string, object>(), default, 0);
            placed.Add(await director.OnAddActivation(TopicShardPlacement.Singleton, target, new Cluster()));
        }

        return placed;
    }

    private sealed class Cluster : IPlacementContext
    {
        public SiloAddress LocalSilo => Silos[0];

        public SiloStatus LocalSiloStatus => SiloStatus.Active;

        public SiloAddress[] GetCompatibleSilos(PlacementTarget target) => Silos;

        public IReadOnlyDictionary<ushort, SiloAddress[]> GetCompatibleSilosWithVersions(PlacementTarget target) => new Dictionary<ushort, SiloAddress[]> { [0] = Silos };
    }
}
