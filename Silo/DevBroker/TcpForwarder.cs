using System.Net;
using System.Net.Sockets;

namespace Ingest.DevBroker;

/// <summary>
/// Listens on a fixed loopback port and relays each connection to one mock broker's random port, so
/// the development broker has a fixed, documented address. Both directions are copied until either
/// side closes; when the broker is down, connecting to it fails and the client's connection is closed.
/// </summary>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    public TcpForwarder(IPEndPoint listen, IPEndPoint target)
    {
        _target = target;
        _listener = Listen(listen);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port { get; }

    /// <summary>A listener on <paramref name="endpoint"/>, or <see cref="DevBrokerPortInUseException"/> if the port is taken.</summary>
    public static TcpListener Listen(IPEndPoint endpoint)
    {
        var listener = new TcpListener(endpoint);
        // SO_REUSEADDR alone, so a restart can bind while old connections linger in TIME_WAIT. Not .NET's
        // ReuseAddress option: on Linux it sets SO_REUSEPORT too, and then a second development broker
        // binds the same port and the kernel spreads connections over both.
        if (OperatingSystem.IsLinux())
        {
            listener.Server.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        }

        try
        {
            listener.Start(backlog: 512);
            return listener;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            listener.Stop();
            throw new DevBrokerPortInUseException(endpoint, e);
        }
    }

    private const int SolSocket = 1; // SOL_SOCKET on Linux
    private const int SoReuseAddr = 2; // SO_REUSEADDR on Linux

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(_target, _stop.Token);
            await using var a = new NetworkStream(client, ownsSocket: false);
            await using var b = new NetworkStream(upstream, ownsSocket: false);
            var first = await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
            await first.ContinueWith(static _ => { }, TaskScheduler.Default);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop;
        _stop.Dispose();
    }
}

/// <summary>The fixed port of the development broker is taken, most likely by another development broker.</summary>
public sealed class DevBrokerPortInUseException(IPEndPoint endpoint, Exception inner) : IOException(
    $"Another development Kafka broker (or another program) already listens on {endpoint}. Use it with " +
    $"Kafka:BootstrapServers={endpoint} (environment: Kafka__BootstrapServers={endpoint}), or stop it, or give this one " +
    "another port (DevKafka:Port, or dev-kafka --port).", inner)
{
    public IPEndPoint Endpoint { get; } = endpoint;
}
