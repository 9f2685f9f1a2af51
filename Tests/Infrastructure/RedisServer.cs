using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Ingest.Tests.Infrastructure;

/// <summary>
/// Debian's <c>redis-server</c> on a free loopback port, without persistence, for one test. test.sh
/// installs the package; without it the test fails (never skips).
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly System.Diagnostics.Process _process;
    private bool _disposed;

    private RedisServer(System.Diagnostics.Process process, string address, int port)
    {
        _process = process;
        Address = address;
        Port = port;
    }

    public string Address { get; }

    public int Port { get; }

    public string ConnectionString => $"{Address}:{Port}";

    /// <summary>Starts redis-server listening on <paramref name="address"/> (loopback by default; a test network's gateway for hosts of their own).</summary>
    public static async Task<RedisServer> StartAsync(System.Net.IPAddress? address = null)
    {
        var bind = (address ?? System.Net.IPAddress.Loopback).ToString();
        var executable = new[] { "/usr/bin/redis-server", "/usr/sbin/redis-server" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("redis-server is not installed: run ./test.sh, which installs the Debian package redis-server.");
        var port = Ports.Free();
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", port.ToString(), "--bind", bind, "--protected-mode", "no", "--save", "", "--appendonly", "no", "--daemonize", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = System.Diagnostics.Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServer(process, bind, port);
        await Poll.Until(server.PingAsync, TimeSpan.FromSeconds(20), $"redis-server on port {port} to answer PING");
        return server;
    }

    private async Task<bool> PingAsync()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}");
        }

        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(Address, Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
