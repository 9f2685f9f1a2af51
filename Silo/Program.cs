using Ingest.Api.Hosting;
using Ingest.DevBroker;
using Ingest.Silo.Commands;
using Ingest.Storage;
using Ingest.Silo.Hosting;

namespace Ingest.Silo;

/// <summary>
/// <c>dotnet run --project Silo</c>: the whole system on one machine (silo + HTTP API on 127.0.0.1:8080).
/// <c>dotnet run --project Silo -- dump &lt;segment&gt;</c>: a segment's records as NDJSON.
/// <c>dotnet run --project Silo -- dev-kafka</c>: the development Kafka broker on its own.
/// <c>dotnet run --project Silo -- audit verify --topic T</c>: a running silo's audit of a topic beside what Kafka holds.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "dump":
                return DumpCommand.Run(args[1..], Console.Out, Console.Error);
            case "audit":
                return await AuditCommand.RunAsync(args[1..], Console.Out, Console.Error);
            case "dev-kafka":
                return await DevKafkaCommand.RunAsync(args[1..], Console.Out, Console.Error);
            default:
                // The process, not an embedding host (tests), bounds its own graceful stop.
                return await HostRunner.RunAsync(
                    () => SiloApp.Build(args, builder => builder.Services.AddHostedService<ShutdownDeadline>()),
                    Console.Error,
                    Describe);
        }
    }

    /// <summary>What this silo owns and another process may hold: the data directory, the development broker's port.</summary>
    private static StartupError? Describe(Exception e) => e switch
    {
        DataDirectoryLockedException locked => new(locked.Message, ExitCodes.ResourceInUse),
        DevBrokerPortInUseException port => new(port.Message, ExitCodes.ResourceInUse),
        _ => null,
    };
}
