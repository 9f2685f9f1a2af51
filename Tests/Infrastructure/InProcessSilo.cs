using System.Net;
using Ingest.Silo.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Tests.Infrastructure;

/// <summary>
/// The real Silo host (grains, segment store, HTTP API on Kestrel) started inside the test process on
/// free loopback ports with its own temporary data directory. Store-only by default
/// (<c>Kafka:Enabled=false</c>), so tests can read every record back from the segments; subclasses
/// change settings (see <c>KafkaSilo</c> for forwarding).
/// </summary>
public class InProcessSilo : IAsyncLifetime
{
    private readonly TempDirectory _data = new("ingest-silo");
    private WebApplication? _app;

    public string DataDirectory => _data.Path;

    public HttpClient Http { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>The handler of <see cref="Http"/> (a TLS test trusts its own certificate here).</summary>
    protected virtual SocketsHttpHandler CreateHandler() => new() { MaxConnectionsPerServer = 256 };

    public ValueTask InitializeAsync() => StartAsync();

    /// <summary>Stops the silo gracefully (grains deactivate, checkpoints persist) and starts a new one on the same data directory.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    private async ValueTask StartAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Ingest:DataDirectory"] = _data.Path,
            ["Cluster:SiloPort"] = Ports.Free().ToString(),
            ["Cluster:GatewayPort"] = Ports.Free().ToString(),
            ["DevKafka:Port"] = "0",
            ["Kafka:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Polly"] = "Error",
        };
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }

        _app = SiloApp.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            ConfigureServices(builder.Services);
        });
        await _app.StartAsync();
        BaseAddress = new Uri(_app.Urls.First());
        Http = new HttpClient(CreateHandler()) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await Poll.Until(async () => (await Http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the in-process silo to report ready on /readyz");
    }

    private async Task StopAsync()
    {
        Http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public virtual async ValueTask DisposeAsync()
    {
        await StopAsync();
        _data.Dispose();
        GC.SuppressFinalize(this);
    }

    public List<StoredRecord> Records(string topic) => StoredRecords.Read(DataDirectory, topic);

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();
}
