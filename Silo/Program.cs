using Ingest.Silo.Commands;
using Ingest.Silo.Hosting;

namespace Ingest.Silo;

/// <summary>
/// <c>dotnet run --project Silo</c>: the whole system on one machine (silo + HTTP API on 127.0.0.1:8080).
/// <c>dotnet run --project Silo -- dump &lt;segment&gt;</c>: a segment's records as NDJSON.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "dump")
        {
            return DumpCommand.Run(args[1..], Console.Out, Console.Error);
        }

        SiloApp.Build(args).Run();
        return 0;
    }
}
