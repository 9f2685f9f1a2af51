using System.Net;
using System.Net.Sockets;

namespace Ingest.Tests.Infrastructure;

/// <summary>
/// Loopback ports for servers a test starts (silo and gateway ports, HTTP, redis-server, a broker on a
/// fixed port). They come from below the kernel's ephemeral range, not from port 0: a port the OS
/// handed out as "free" can be taken as the local port of an outgoing connection (every HTTP client and
/// Kafka client of the suite makes those) before the server binds it, which failed a run with
/// "Address already in use". Outgoing connections and port-0 listeners (the mock Kafka brokers) never
/// use a port below the ephemeral range, so a port handed out here can only collide with a fixed-port
/// listener of another program, which the bind check skips.
/// </summary>
public static class Ports
{
    private const int Lowest = 10_000;

    private static readonly int Highest = EphemeralRangeStart() - 1;
    private static int _next = Lowest + (Environment.ProcessId * 7919 % (Highest - Lowest)); // processes start apart

    /// <summary>A loopback TCP port that is free now and that no other call in this process returns.</summary>
    public static int Free()
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Lowest + ((Interlocked.Increment(ref _next) - Lowest) % (Highest - Lowest + 1));
            if (Ingest.Tests.Docs.ReadmeTests.ReadmePorts.Contains(port))
            {
                continue; // the README's fixed ports belong to the README test
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Some other program listens there: next.
            }
        }

        throw new InvalidOperationException($"no free loopback port between {Lowest} and {Highest}");
    }

    private static int EphemeralRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return Math.Max(Lowest + 1000, int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            return 32_768; // Linux's default
        }
    }
}
