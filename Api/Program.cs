using Ingest.Api.Health;
using Ingest.Api.Hosting;
using Ingest.Api.Options;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ingest.Api;

/// <summary>A stateless HTTP frontend: the ingest API in front of the cluster, through an Orleans client.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => HostRunner.RunAsync(() => Build(args), Console.Error);

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        var cluster = ClusterSettings.From(builder.Configuration);
        builder.UseOrleansClient(client => client.UseIngestCluster(cluster));
        // Serve /healthz (and an honest 503 on /readyz) while the client is still connecting.
        builder.Services.Configure<HostOptions>(o => o.ServicesStartConcurrently = true);
        builder.AddIngestApi(defaultUrl: "http://127.0.0.1:8081", serviceName: "ingest-api");
        builder.Services.TryAddSingleton<IReadinessProbe, ClusterClientReadinessProbe>();

        var app = builder.Build();
        app.ValidateSettings();
        app.MapIngestApi();
        return app;
    }
}
