using System.Net;
using Ingest.Configuration;
using Ingest.Forwarding;
using Ingest.Hosting;
using Ingest.Rotation;
using Ingest.Tests.Topics;
using Ingest.Topics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Tests.Membership;

/// <summary>
/// When a drained silo says it is empty (<see cref="NodeDrain"/>): real topic writers on a temporary disk and a fake
/// forwarder whose backlog the test sets. It is <c>drained</c> only once no topic is active, no segment open and
/// nothing waits for Kafka, and says what it waits for until then.
/// </summary>
public sealed class NodeDrainTests : IDisposable
{
    private static readonly SiloAddress Self = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 7);

    private readonly WriterBed _bed = new();
    private readonly FakeBacklog _backlog = new();

    public void Dispose() => _bed.Dispose();

    [Fact]
    public async Task a_drained_silo_waits_for_its_topics_and_for_kafka_and_says_which_before_it_says_drained()
    {
        var writers = _bed.Build(Ingest.Options.Durability.Flush);
        var drain = new NodeDrain(new LiveConfig(new ClusterConfig()), new Local(), writers, _backlog, null!, NullLogger<NodeDrain>.Instance);
        var writer = writers.Open("orders", () => new RotationPolicy(TimeSpan.FromHours(1), 1 << 20), _ => { });
        await writer.Append(TopicWriterTests.Batch("a"));
        Assert.Equal(("serving", (string?)null), drain.State());

        drain.OnConfig(new ClusterConfig { Version = 2, DrainedSilos = [Forwarders.KeyFor(Self)] });
        Assert.True(drain.Draining);
        Assert.Equal(("draining", "1 topic(s) still active here, 1 segment(s) open"), drain.State());

        writer.Seal(SealReason.HandOver);
        writers.Deactivated("orders");
        _backlog.Records = 1;
        _backlog.Running = true;
        Assert.Equal(("draining", "1 record(s) not yet acknowledged by Kafka"), drain.State()); // e.g. Kafka is down: it waits, and says so

        _backlog.Records = 0;
        Assert.Equal("drained", drain.State().State);

        drain.OnConfig(new ClusterConfig { Version = 3 });
        Assert.False(drain.Draining);
        Assert.Equal("serving", drain.State().State);
    }

    [Fact]
    public void a_silo_that_does_not_forward_says_its_records_wait_with_forwarding_off()
    {
        var drain = new NodeDrain(new LiveConfig(new ClusterConfig()), new Local(), _bed.Build(Ingest.Options.Durability.Flush), _backlog, null!, NullLogger<NodeDrain>.Instance);
        _backlog.Records = 3;
        _backlog.Running = false;

        drain.OnConfig(new ClusterConfig { Version = 2, DrainedSilos = [Forwarders.KeyFor(Self)] });

        Assert.Equal(("draining", "3 record(s) unshipped, and forwarding is off on this silo"), drain.State());
    }

    private sealed class Local : ILocalSiloDetails
    {
        public string Name => "self";

        public string ClusterId => "test";

        public string DnsHostName => "localhost";

        public SiloAddress SiloAddress => Self;

        public SiloAddress GatewayAddress => Self;
    }

    private sealed class FakeBacklog : IShippingBacklog
    {
        public long Records { get; set; }

        public bool Running { get; set; } = true;

        public bool IsRunning => Running;

        public (long Records, long Bytes) Backlog() => (Records, Records * 100);

        public Task StopAsync(TimeSpan grace) => Task.CompletedTask;
    }
}
