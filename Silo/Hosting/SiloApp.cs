using Ingest.Api.Health;
using Ingest.Api.Hosting;
using Ingest.Api.Options;
using Ingest.Hosting;
using Ingest.Silo.Health;
using Orleans.Configuration;

namespace Ingest.Silo.Hosting;

/// <summary>The whole system in one process: a silo with the topic grains, serving the HTTP API.</summary>
public static class SiloApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        var cluster = ClusterSettings.From(builder.Configuration);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, null, cluster.ServiceId, cluster.ClusterId);
            silo.UseInMemoryReminderService();
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = cluster.ResponseTimeout);
            silo.AddIngest();
            silo.Services.AddSingleton<SiloActivity>();
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SiloActivity>());
        });

        builder.AddIngestApi(defaultUrl: "http://127.0.0.1:8080");
        builder.Services.AddSingleton<IReadinessProbe, SiloReadinessProbe>();

        var app = builder.Build();
        app.MapIngestApi();
        return app;
    }
}
