using Confluent.Kafka;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Process;

[Collection(nameof(ProcessTests))]
public sealed class DevKafkaProcessTests
{
    [Fact]
    public async Task dev_kafka_runs_on_its_own_at_a_fixed_address_serves_kcat_and_stops_on_sigterm()
    {
        var port = Ports.Free();
        await using var broker = HostProcess.Start("Silo", new Dictionary<string, string>(), arguments: ["dev-kafka", "--port", port.ToString(), "--topic", "standalone:2"]);
        await Poll.Until(() => broker.Output.Contains($"listening at 127.0.0.1:{port}"), TimeSpan.FromSeconds(30), "dev-kafka to announce its address");
        Assert.Contains("IN MEMORY, FOR DEVELOPMENT ONLY", broker.Output);

        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = $"127.0.0.1:{port}" }).Build())
        {
            for (var i = 0; i < 5; i++)
            {
                await producer.ProduceAsync("standalone", new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
            }
        }

        var lines = await Kcat.ConsumeAsync($"127.0.0.1:{port}", "standalone");

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"k{i}\tv{i}").Order(), lines.Order());
        await broker.TerminateAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, broker.ExitCode);
    }
}
