using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Http;

/// <summary><c>?durability=flush|fsync|kafka</c>: the answer says the level the records reached, and waits for Kafka when asked.</summary>
public sealed class DurabilityTests(DurabilityTests.WaitingSilo silo) : IClassFixture<DurabilityTests.WaitingSilo>
{
    [Fact]
    public async Task a_record_sent_with_durability_kafka_gets_201_with_its_partition_and_offset_and_is_in_kafka_when_answered()
    {
        silo.Kafka.CreateTopic("dur-kafka", partitions: 3);

        var response = await silo.Http.PostAsync("/v1/topics/dur-kafka?durability=kafka&key=user-7", new StringContent("""{"paid":true}"""));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        Assert.Equal("kafka", body.GetProperty("durability").GetString());
        var (partition, offset) = (body.GetProperty("partition").GetInt32(), body.GetProperty("offset").GetInt64());
        // Read by kcat, a client independent of ours, at the very place the answer names.
        Assert.Equal("""{"paid":true}""", await Kcat.ReadAtAsync(silo.Kafka.BootstrapServers, "dur-kafka", partition, offset));
    }

    [Fact]
    public async Task a_batch_sent_with_durability_kafka_gets_201_once_all_its_records_are_acknowledged()
    {
        // Created first, as in the single-record test: a topic the mock broker creates on first use can take longer than the 1 s wait.
        silo.Kafka.CreateTopic("dur-kafka-batch", partitions: 1);

        var response = await silo.Http.PostAsync("/v1/topics/dur-kafka-batch/batch?durability=kafka",
            new StringContent("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n", Encoding.UTF8, "application/x-ndjson"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("""{"accepted":3,"durability":"kafka"}""", await response.Content.ReadAsStringAsync());
        Assert.Equal(3, (await Kcat.ConsumeAsync(silo.Kafka.BootstrapServers, "dur-kafka-batch")).Count);
    }

    [Fact]
    public async Task fsync_and_flush_are_answered_202_with_the_level_reached_and_an_unknown_level_gets_400()
    {
        var fsync = await silo.Http.PostAsync("/v1/topics/dur-disk?durability=fsync", new StringContent("{}"));
        var flush = await silo.Http.PostAsync("/v1/topics/dur-disk?durability=flush", new StringContent("{}"));
        var none = await silo.Http.PostAsync("/v1/topics/dur-disk", new StringContent("{}"));
        var bad = await silo.Http.PostAsync("/v1/topics/dur-bad?durability=eventually", new StringContent("{}"));

        Assert.Equal((HttpStatusCode.Accepted, """{"accepted":1,"durability":"fsync"}"""), (fsync.StatusCode, await fsync.Content.ReadAsStringAsync()));
        Assert.Equal((HttpStatusCode.Accepted, """{"accepted":1,"durability":"flush"}"""), (flush.StatusCode, await flush.Content.ReadAsStringAsync()));
        Assert.Equal((HttpStatusCode.Accepted, """{"accepted":1,"durability":"flush"}"""), (none.StatusCode, await none.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("durability", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task with_every_broker_down_durability_kafka_is_answered_202_flush_after_the_wait_and_the_record_ships_once_kafka_is_back()
    {
        silo.Kafka.SetBrokerDown();
        try
        {
            await silo.AssertKafkaUnreachableAsync();
            var started = System.Diagnostics.Stopwatch.StartNew();

            var response = await silo.Http.PostAsync("/v1/topics/dur-down?durability=kafka", new StringContent("""{"while":"down"}"""));

            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal("""{"accepted":1,"durability":"flush"}""", await response.Content.ReadAsStringAsync());
            Assert.True(started.Elapsed >= TimeSpan.FromSeconds(1), $"it waited Ingest:KafkaAckWait (1 s here) for Kafka first, answered after {started.Elapsed}");
        }
        finally
        {
            silo.Kafka.SetBrokerUp();
        }

        List<string> shipped = [];
        await Poll.Until(async () => (shipped = await Kcat.ConsumeAsync(silo.Kafka.BootstrapServers, "dur-down")).Count > 0,
            TimeSpan.FromSeconds(60), "the record answered 202 while Kafka was down to reach Kafka once it is back");
        Assert.Equal(["\t{\"while\":\"down\"}"], shipped);
    }

    /// <summary>Forwarding to a mock Kafka cluster, with a short wait for Kafka.</summary>
    public sealed class WaitingSilo : KafkaSilo
    {
        protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [new("Ingest:KafkaAckWait", "00:00:01")];
    }
}

/// <summary>A node that does not forward to Kafka refuses <c>durability=kafka</c> before storing anything.</summary>
public sealed class DurabilityWithoutKafkaTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    [Fact]
    public async Task durability_kafka_on_a_node_without_kafka_gets_400_that_says_so_and_stores_nothing()
    {
        var response = await silo.Http.PostAsync("/v1/topics/no-kafka?durability=kafka", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Kafka:Enabled=false", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(silo.Records("no-kafka"));
    }
}
