using System.Globalization;
using System.Runtime.InteropServices;
using Ingest.Api.Hosting;
using Ingest.DevBroker;

namespace Ingest.Silo.Commands;

/// <summary>
/// <c>dev-kafka [--port 19092] [--brokers 1] [--topic name[:partitions]]...</c>: the in-memory development
/// Kafka broker on its own, at a fixed address, until SIGTERM or Ctrl+C — so several silos and tests can
/// share one broker that outlives any silo. Broker <c>i</c> of N listens on <c>port + i - 1</c> (so
/// <c>--brokers 3</c> takes 19092, 19093 and 19094). A port that is taken is refused (exit code 4), never
/// shared. For development only: ~5 MiB per partition, nothing kept.
/// </summary>
internal static class DevKafkaCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var port = 19092;
        var brokers = 1;
        var topics = new List<(string Name, int Partitions)>();
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--port" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536:
                case "--brokers" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out brokers) && brokers is > 0 and < 10:
                    i++;
                    break;
                case "--topic" when value is not null:
                    var parts = value.Split(':');
                    topics.Add((parts[0], parts.Length > 1 && int.TryParse(parts[1], out var p) ? p : 8));
                    i++;
                    break;
                default:
                    error.WriteLine("usage: dev-kafka [--port 19092] [--brokers 1..9] [--topic name[:partitions]]...");
                    error.WriteLine("       broker i of N listens on port + i - 1 (--brokers 3: 19092, 19093, 19094)");
                    return ExitCodes.Usage;
            }
        }

        MockKafkaCluster started;
        try
        {
            started = MockKafkaCluster.Start(brokers, port);
        }
        catch (DevBrokerPortInUseException e)
        {
            error.WriteLine("dev-kafka: " + e.Message);
            return ExitCodes.ResourceInUse;
        }

        await using var cluster = started;
        foreach (var (name, partitions) in topics)
        {
            cluster.CreateTopic(name, partitions);
        }

        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        output.WriteLine($"Development Kafka broker listening at {cluster.BootstrapServers} ({brokers} broker(s)).");
        output.WriteLine("IN MEMORY, FOR DEVELOPMENT ONLY: ~5 MiB per partition, everything is lost when it stops. Stop with SIGTERM or Ctrl+C.");
        output.Flush();
        await stopped.Task;
        output.WriteLine("Development Kafka broker stopped.");
        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stopped.TrySetResult();
        }
    }
}
