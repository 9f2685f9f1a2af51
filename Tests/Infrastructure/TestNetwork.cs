using System.Diagnostics;
using System.Net;

namespace Ingest.Tests.Infrastructure;

/// <summary>
/// Hosts of their own on one machine: a network namespace per host, each with one address on a bridge
/// that this test creates (veth pairs, Debian's iproute2), the bridge's own address on the root side for
/// what runs there (Redis, the development broker, the test's clients). Faults are nftables rules and
/// tc qdiscs inside a host's namespace, so they touch only the hosts this network made, and
/// <see cref="DisposeAsync"/> removes the namespaces, the veths, the bridge and every rule with them,
/// also when the test failed.
/// </summary>
/// <remarks>
/// This kernel has no <c>sch_netem</c>: latency and loss are what nftables and tc's token bucket can do
/// here, a random drop (<see cref="Lossy"/>) and a narrow, queueing link (<see cref="Slow"/>).
/// </remarks>
public sealed class TestNetwork : IAsyncDisposable
{
    private readonly string _prefix;
    private readonly string _bridge;
    private readonly List<NetHost> _hosts = [];

    private TestNetwork(string prefix, int subnet)
    {
        _prefix = prefix;
        _bridge = $"{prefix}br";
        Subnet = subnet;
        Gateway = IPAddress.Parse($"10.{Subnet >> 8}.{Subnet & 0xFF}.1");
    }

    /// <summary>The root side's address on the bridge: where Redis, the broker and the test's clients listen.</summary>
    public IPAddress Gateway { get; }

    private int Subnet { get; }

    public IReadOnlyList<NetHost> Hosts => _hosts;

    public NetHost this[string name] => _hosts.Single(host => host.Name == name);

    /// <summary>Creates the bridge and one namespace (host) per name, each with its own address.</summary>
    public static async Task<TestNetwork> CreateAsync(params string[] hostNames)
    {
        // A /24 in 10.200.0.0-10.239.255.0 that no interface here uses, and names unique to this network.
        var used = Run("ip", "-4", "-o", "addr").Output;
        int subnet;
        do
        {
            subnet = Random.Shared.Next(200 << 8, 240 << 8);
        }
        while (used.Contains($" 10.{subnet >> 8}.{subnet & 0xFF}.", StringComparison.Ordinal));

        var network = new TestNetwork($"ig{Random.Shared.Next(0x10000):x4}", subnet);
        try
        {
            network.Must("ip", "link", "add", network._bridge, "type", "bridge");
            network.Must("ip", "addr", "add", $"{network.Gateway}/24", "dev", network._bridge);
            network.Must("ip", "link", "set", network._bridge, "up");
            for (var i = 0; i < hostNames.Length; i++)
            {
                network._hosts.Add(network.AddHost(hostNames[i], i + 2));
            }
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }

        return network;
    }

    private NetHost AddHost(string name, int index)
    {
        var host = new NetHost(name, $"{_prefix}-{name}", IPAddress.Parse($"10.{Subnet >> 8}.{Subnet & 0xFF}.{index}"), $"{_prefix}v{index}");
        Must("ip", "netns", "add", host.Namespace);
        Must("ip", "link", "add", host.RootLink, "type", "veth", "peer", "name", "eth0", "netns", host.Namespace);
        Must("ip", "link", "set", host.RootLink, "master", _bridge);
        Must("ip", "link", "set", host.RootLink, "up");
        Must("ip", "netns", "exec", host.Namespace, "ip", "addr", "add", $"{host.Address}/24", "dev", "eth0");
        Must("ip", "netns", "exec", host.Namespace, "ip", "link", "set", "eth0", "up");
        Must("ip", "netns", "exec", host.Namespace, "ip", "link", "set", "lo", "up");
        Must("ip", "netns", "exec", host.Namespace, "ip", "route", "add", "default", "via", Gateway.ToString());
        // The fault table: empty chains that accept, so a fault is one rule and healing is a flush.
        Must("ip", "netns", "exec", host.Namespace, "nft", "add", "table", "inet", "fault");
        Must("ip", "netns", "exec", host.Namespace, "nft", "add", "chain", "inet", "fault", "in", "{ type filter hook input priority 0; policy accept; }");
        Must("ip", "netns", "exec", host.Namespace, "nft", "add", "chain", "inet", "fault", "out", "{ type filter hook output priority 0; policy accept; }");
        return host;
    }

    /// <summary>Cuts <paramref name="host"/> off from every other host and the root side: its packets are dropped silently, as on a dead link.</summary>
    public void Isolate(NetHost host)
    {
        Nft(host, "in", "iifname", "eth0", "drop");
        Nft(host, "out", "oifname", "eth0", "drop");
    }

    /// <summary>Drops everything between <paramref name="host"/> and <paramref name="peer"/>:<paramref name="port"/> (any port when null).</summary>
    public void Block(NetHost host, IPAddress peer, int? port = null)
    {
        if (port is { } p)
        {
            Nft(host, "out", "ip", "daddr", peer.ToString(), "tcp", "dport", p.ToString(), "drop");
            Nft(host, "in", "ip", "saddr", peer.ToString(), "tcp", "sport", p.ToString(), "drop");
        }
        else
        {
            Nft(host, "out", "ip", "daddr", peer.ToString(), "drop");
            Nft(host, "in", "ip", "saddr", peer.ToString(), "drop");
        }

    }

    /// <summary>Drops <paramref name="percent"/> % of <paramref name="host"/>'s packets each way, at random.</summary>
    public void Lossy(NetHost host, int percent)
    {
        Nft(host, "in", "iifname", "eth0", "numgen", "random", "mod", "100", "<", percent.ToString(), "drop");
        Nft(host, "out", "oifname", "eth0", "numgen", "random", "mod", "100", "<", percent.ToString(), "drop");
    }

    /// <summary>A narrow link out of <paramref name="host"/>: a token bucket of <paramref name="kbit"/> kbit/s that queues up to <paramref name="queueMs"/> ms.</summary>
    public void Slow(NetHost host, int kbit, int queueMs)
    {
        Must("ip", "netns", "exec", host.Namespace, "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf",
            "rate", $"{kbit}kbit", "burst", "16kb", "latency", $"{queueMs}ms");
    }

    /// <summary>Removes every fault of <paramref name="host"/>.</summary>
    public void Heal(NetHost host)
    {
        Must("ip", "netns", "exec", host.Namespace, "nft", "flush", "chain", "inet", "fault", "in");
        Must("ip", "netns", "exec", host.Namespace, "nft", "flush", "chain", "inet", "fault", "out");
        Run("ip", "netns", "exec", host.Namespace, "tc", "qdisc", "del", "dev", "eth0", "root");
    }

    /// <summary>Starts <paramref name="start"/> inside <paramref name="host"/>'s namespace (<c>ip netns exec</c> execs it: the pid is the program's).</summary>
    public static ProcessStartInfo InHost(NetHost host, ProcessStartInfo start)
    {
        var wrapped = new ProcessStartInfo("ip")
        {
            WorkingDirectory = start.WorkingDirectory,
            RedirectStandardOutput = start.RedirectStandardOutput,
            RedirectStandardError = start.RedirectStandardError,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "netns", "exec", host.Namespace, start.FileName }.Concat(start.ArgumentList))
        {
            wrapped.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in start.Environment)
        {
            wrapped.Environment[key] = value;
        }

        return wrapped;
    }

    public ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            // Processes still in the namespace are the test's own; the namespace goes with its veth and rules.
            foreach (var pid in Run("ip", "netns", "pids", host.Namespace).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Run("kill", "-9", pid.Trim());
            }

            Run("ip", "link", "del", host.RootLink);
            Run("ip", "netns", "del", host.Namespace);
        }

        Run("ip", "link", "del", _bridge);
        return ValueTask.CompletedTask;
    }

    private void Nft(NetHost host, string chain, params string[] rule) =>
        Must(["ip", "netns", "exec", host.Namespace, "nft", "add", "rule", "inet", "fault", chain, .. rule]);

    private void Must(params string[] command)
    {
        var (exitCode, output) = Run(command);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"'{string.Join(' ', command)}' failed ({exitCode}): {output}");
        }
    }

    private static (int ExitCode, string Output) Run(params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error);
    }
}

/// <summary>One host of a <see cref="TestNetwork"/>: a namespace with one address.</summary>
public sealed class NetHost(string name, string @namespace, IPAddress address, string rootLink)
{
    public string Name { get; } = name;

    public string Namespace { get; } = @namespace;

    public IPAddress Address { get; } = address;

    /// <summary>The root side of its veth pair, on the bridge.</summary>
    internal string RootLink { get; } = rootLink;

    public override string ToString() => $"{Name} ({Address})";
}
