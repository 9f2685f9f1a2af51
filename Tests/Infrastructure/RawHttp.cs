using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Ingest.Tests.Infrastructure;

/// <summary>HTTP written byte by byte on a socket: what HttpClient would never send (slow, duplicated, malformed, HTTP/1.0).</summary>
public sealed class RawHttp : IDisposable
{
    private readonly TcpClient _tcp = new();
    private NetworkStream _stream = null!;

    public static async Task<RawHttp> ConnectAsync(Uri server)
    {
        var raw = new RawHttp();
        await raw._tcp.ConnectAsync(server.Host, server.Port);
        raw._stream = raw._tcp.GetStream();
        return raw;
    }

    /// <summary>Writes; false if the server already closed the connection.</summary>
    public async Task<bool> TryWriteAsync(byte[] bytes)
    {
        try
        {
            await _stream.WriteAsync(bytes);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public Task<bool> TryWriteAsync(string ascii) => TryWriteAsync(Encoding.ASCII.GetBytes(ascii));

    /// <summary>The status code of the server's answer, or null if it closed the connection without one; waits at most <paramref name="timeout"/>.</summary>
    public async Task<int?> ReadStatusAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        var line = new StringBuilder();
        var one = new byte[1];
        try
        {
            while (await _stream.ReadAsync(one, cancel.Token) == 1)
            {
                if (one[0] == '\n')
                {
                    var parts = line.ToString().Split(' ');
                    return parts.Length > 1 && int.TryParse(parts[1], out var status) ? status : null;
                }

                line.Append((char)one[0]);
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    /// <summary>Whether the server has closed the connection (a read returns 0 or fails), waiting at most <paramref name="timeout"/>.</summary>
    public async Task<bool> ClosedWithinAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var buffer = new byte[4096];
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            while (await _stream.ReadAsync(buffer, cancel.Token) > 0)
            {
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return clock.Elapsed < timeout;
        }
    }

    public void Dispose() => _tcp.Dispose();
}
