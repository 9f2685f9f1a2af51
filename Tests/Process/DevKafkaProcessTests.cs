using Confluent.Kafka;
using Ingest.Api.Hosting;
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

    [Fact]
    public async Task a_second_dev_kafka_on_a_taken_port_is_refused_and_says_how_to_use_the_first()
    {
        var port = Ports.Free();
        await using var first = HostProcess.Start("Silo", new Dictionary<string, string>(), arguments: ["dev-kafka", "--port", port.ToString()]);
        await Poll.Until(() => first.Output.Contains($"listening at 127.0.0.1:{port}"), TimeSpan.FromSeconds(30), "the first dev-kafka to announce its address");
        await using var second = HostProcess.Start("Silo", new Dictionary<string, string>(), arguments: ["dev-kafka", "--port", port.ToString()]);

        var exit = await second.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ExitCodes.ResourceInUse, exit);
        Assert.Equal(
            $"dev-kafka: Another development Kafka broker (or another program) already listens on 127.0.0.1:{port}. Use it with Kafka:BootstrapServers=127.0.0.1:{port} " +
            $"(environment: Kafka__BootstrapServers=127.0.0.1:{port}), or stop it, or give this one another port (DevKafka:Port, or dev-kafka --port).",
            second.Output.Trim());
        Assert.Equal(1, ListeningSockets(port)); // the first broker alone answers on the port
        Assert.False(first.HasExited);
    }

    [Fact]
    public async Task a_default_silo_whose_development_broker_port_is_taken_exits_4_with_the_same_advice()
    {
        var port = Ports.Free();
        await using var broker = HostProcess.Start("Silo", new Dictionary<string, string>(), arguments: ["dev-kafka", "--port", port.ToString(), "--brokers", "2"]);
        await Poll.Until(() => broker.Output.Contains($"listening at 127.0.0.1:{port},127.0.0.1:{port + 1}"), TimeSpan.FromSeconds(30), "dev-kafka to announce both brokers' ports");
        using var data = new TempDirectory("ingest-dev-port");
        var environment = SiloEnvironment.For(data.Path);
        environment["Kafka__Enabled"] = "true";
        environment["DevKafka__Port"] = (port + 1).ToString(); // the second broker's port is the one taken
        await using var silo = HostProcess.Start("Silo", environment);

        var exit = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(ExitCodes.ResourceInUse, exit);
        Assert.Contains($"already listens on 127.0.0.1:{port + 1}. Use it with Kafka:BootstrapServers=127.0.0.1:{port + 1}", silo.Output);
        Assert.DoesNotContain("   at ", silo.Output); // no stack trace
        Assert.Equal(1, ListeningSockets(port + 1));
    }

    /// <summary>Sockets listening on a loopback TCP port, from /proc/net/tcp (state 0A = LISTEN).</summary>
    private static int ListeningSockets(int port) =>
        File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(fields => fields[3] == "0A" && fields[1].EndsWith($":{port:X4}", StringComparison.Ordinal));
}
