namespace Ingest.Topics;

/// <summary>The key of a silo's forwarding grain (<see cref="IForwarderGrain"/>): the silo's address.</summary>
public static class Forwarders
{
    public static string KeyFor(SiloAddress silo) => silo.ToParsableString();
}
