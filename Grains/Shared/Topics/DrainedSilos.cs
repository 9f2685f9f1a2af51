namespace Ingest.Topics;

/// <summary>The silos the cluster configuration says are drained (<c>drainedSilos</c>), by their addresses as <see cref="Forwarders.KeyFor"/> writes them.</summary>
public static class DrainedSilos
{
    public static bool Contains(Configuration.ClusterConfig config, SiloAddress silo) =>
        config.DrainedSilos.Count > 0 && config.DrainedSilos.Contains(Forwarders.KeyFor(silo), StringComparer.Ordinal);

    /// <summary>Whether <paramref name="text"/> is a silo address (<c>ip:port@generation</c>).</summary>
    public static bool IsSiloAddress(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 100 || !text.Contains('@'))
        {
            return false;
        }

        try
        {
            return SiloAddress.FromParsableString(text).ToParsableString() == text;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or IndexOutOfRangeException)
        {
            return false;
        }
    }
}
