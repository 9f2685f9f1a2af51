namespace Ingest.Tests.Infrastructure;

/// <summary>Concurrent clients of a test load, running until stopped; the load classes say what each client sends.</summary>
internal abstract class LoadClients : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task[] _clients = [];

    /// <summary>True once <see cref="StopAsync"/> was called: each client ends its loop.</summary>
    protected bool Stopping => _stop.IsCancellationRequested;

    /// <summary>Starts <paramref name="count"/> clients, client <c>c</c> running <paramref name="client"/>(c).</summary>
    protected void Run(int count, Func<int, Task> client) =>
        _clients = Enumerable.Range(0, count).Select(c => Task.Run(() => client(c))).ToArray();

    /// <summary>Stops the clients and waits until each has its last answer.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }
}
