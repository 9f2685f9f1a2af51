using System.Net;
using System.Text.Json;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;
using Ingest.Topics;

namespace Ingest.Tests.Shards;

/// <summary>A forwarding silo where topic "hot" has 4 shards and topic "spread" 4 as well.</summary>
public sealed class ShardedKafkaSilo : KafkaSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Ingest:Shards:hot", "4"),
        new("Ingest:Shards:spread", "4"),
    ];
}

public sealed class ShardTests(ShardedKafkaSilo silo) : IClassFixture<ShardedKafkaSilo>
{
    private static readonly string[] HotShards = ["hot", "hot#1", "hot#2", "hot#3"];

    [Fact]
    public async Task keyed_records_keep_their_order_per_key_across_four_shards_and_every_key_stays_in_one_shard()
    {
        silo.Kafka.CreateTopic("hot", partitions: 4);
        var ledger = new Ledger();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
        {
            var key = $"user-{c}";
            for (var i = 0; i < 40; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, "hot", $"hot-{c}-{i}", key, i));
            }

            var batch = Enumerable.Range(40, 20).Select(i => ($"hot-{c}-{i}", i)).ToList();
            Assert.Equal(HttpStatusCode.Accepted, await ledger.PostBatch(silo.Http, "hot", batch, key));
        })));

        // In Kafka: everything once, each key's records in the order they were sent.
        var (_, duplicates) = ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, "hot", TimeSpan.FromSeconds(60), keyOrder: true);
        Assert.Equal(0, duplicates);

        // On disk: the four shards are separate segment directories; a key lives in exactly one.
        var keysByShard = HotShards.ToDictionary(s => s, s => Stored(s).Select(r => r.KeyText!).ToHashSet());
        Assert.All(HotShards, s => Assert.NotEmpty(keysByShard[s]));
        for (var c = 0; c < 16; c++)
        {
            var key = $"user-{c}";
            Assert.Single(HotShards, s => keysByShard[s].Contains(key));
            Assert.Contains(key, keysByShard[TopicShards.GrainKey("hot", TopicShards.ShardOf(System.Text.Encoding.UTF8.GetBytes(key), 4))]);
        }
    }

    [Fact]
    public async Task unkeyed_requests_spread_evenly_over_the_shards_and_all_reach_the_one_kafka_topic()
    {
        silo.Kafka.CreateTopic("spread", partitions: 4);
        var ledger = new Ledger();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, "spread", $"spread-{c}-{i}", null, i));
            }
        })));

        ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, "spread", TimeSpan.FromSeconds(60), keyOrder: false);
        var perShard = Enumerable.Range(0, 4).Select(s => Stored(TopicShards.GrainKey("spread", s)).Count).ToList();
        Assert.Equal(400, perShard.Sum());
        Assert.All(perShard, count => Assert.InRange(count, 90, 110)); // 100 each when evenly spread
    }

    [Theory]
    [InlineData("clicks", true, "clicks", 0)]
    [InlineData("clicks#3", true, "clicks", 3)]
    [InlineData("clicks#255", true, "clicks", 255)]
    [InlineData("clicks#256", false, "clicks", 0)]
    [InlineData("clicks#03", false, "clicks", 0)]
    [InlineData("clicks#", false, "clicks", 0)]
    [InlineData("bad topic#1", false, "bad topic", 0)]
    public void a_grain_key_names_exactly_one_topic_and_shard(string key, bool valid, string topic, int shard)
    {
        Assert.Equal(valid, TopicShards.TryParse(key, out var parsedTopic, out var parsedShard));
        if (valid)
        {
            Assert.Equal((topic, shard), (parsedTopic, parsedShard));
            Assert.Equal(key, TopicShards.GrainKey(parsedTopic, parsedShard));
        }
    }

    // Shipped segments move to the archive; what is still open stays in segments/.
    private List<StoredRecord> Stored(string shardKey) =>
        [.. StoredRecords.ReadArchive(silo.DataDirectory, shardKey), .. silo.Records(shardKey)];
}
