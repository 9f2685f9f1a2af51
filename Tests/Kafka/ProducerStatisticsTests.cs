using Ingest.Diagnostics;

namespace Ingest.Tests.Kafka;

public sealed class ProducerStatisticsTests
{
    [Fact]
    public void the_transmitted_total_is_the_top_level_field_not_a_topics_or_a_partitions()
    {
        const string json = """
            {"name":"p","topics":{"t-1":{"partitions":{"0":{"txmsgs":7}}},"a \"txmsgs\": 9 in a string":{}},"brokers":{"b":{"txmsgs":5}},"txmsgs":1234,"rxmsgs":0}
            """;

        Assert.Equal(1234, IngestInstruments.TopLevelNumber(json, "txmsgs"));
        Assert.Null(IngestInstruments.TopLevelNumber("""{"topics":{"txmsgs":3}}""", "txmsgs"));
    }
}
