using Ingest.DevBroker;
using Ingest.Api.Health;
using Ingest.Api.Hosting;
using Ingest.Api.Options;
using Ingest.Api.Status;
using Ingest.Hosting;
using Ingest.Silo.Health;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace Ingest.Silo.Hosting;

/// <summary>The whole system in one process: a silo with the topic grains, serving the HTTP API.</summary>
public static class SiloApp
{
    public const string DashboardEnabledKey = "Dashboard:Enabled";
    private const string DashboardPrefix = "/dashboard";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);

        var cluster = ClusterSettings.From(builder.Configuration);
        // The Orleans dashboard: on by default (operators expect it), left out with Dashboard:Enabled=false
        // where nobody should reach it at all. It times every grain call, yet costs no measurable CPU per
        // request (bench/results/compare-2026-11-23T091659Z.md).
        var dashboard = builder.Configuration.GetValue(DashboardEnabledKey, true);
        builder.UseOrleans(silo =>
        {
            UseCluster(silo, cluster);
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = cluster.ResponseTimeout);
            silo.AddIngest();
            silo.Services.Configure<SiloRemovalOptions>(o => o.LeaveTimeout = cluster.ShutdownTimeout);
            silo.Services.Configure<ShutdownDrainOptions>(o =>
            {
                o.Enabled = cluster.DrainOnShutdown;
                o.Timeout = cluster.ShutdownTimeout * 2 / 3;
            });
            silo.Services.AddDevelopmentBroker(); // the in-memory Kafka when no brokers are configured (Silo/DevBroker)
            if (dashboard)
            {
                silo.AddDashboard();
            }

            silo.Services.AddSingleton<SiloActivity>();
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<SiloActivity>());
        });

        builder.AddIngestApi(defaultUrl: "http://127.0.0.1:8080", serviceName: "ingest-silo");
        builder.Services.DropOrleansServerGcNote(); // workstation GC by choice, see GcNoteFilter
        builder.Services.AddSingleton<ClusterView>();
        builder.Services.AddSingleton<IReadinessProbe, SiloReadinessProbe>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SiloActivity>());
        builder.Services.AddOptions<ClusterSettings>().BindConfiguration(ClusterSettings.SectionName);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = cluster.ShutdownTimeout);
        if (dashboard)
        {
            builder.Services.Configure<StatusPageOptions>(o => o.DashboardPath = DashboardPrefix + "/");
        }

        var app = builder.Build();
        app.ValidateSettings();
        app.Services.TakeWhatTheSiloOwns();
        if (dashboard)
        {
            // The Orleans dashboard, behind the admin key like /v1/admin/* (loopback only without Admin:Key).
            var admin = app.Services.GetRequiredService<Ingest.Api.Admin.AdminAuthorization>();
            app.UseWhen(context => context.Request.Path.StartsWithSegments(DashboardPrefix), branch => branch.Use(next => admin.Guard(next)));
        }

        app.MapIngestApi();
        if (dashboard)
        {
            app.MapOrleansDashboard(routePrefix: DashboardPrefix);
        }

        return app;
    }

    /// <summary>
    /// Redis membership, reminders and configuration storage when <c>Cluster:Redis</c> is set (a real
    /// cluster), else one silo on localhost with in-memory reminders and the configuration in a file of
    /// the data directory. Membership is tuned to declare a dead silo in seconds, with
    /// Orleans' indirect probes and degradation-aware timeouts left on.
    /// </summary>
    private static void UseCluster(ISiloBuilder silo, ClusterSettings cluster)
    {
        if (!cluster.UsesRedis)
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, null, cluster.ServiceId, cluster.ClusterId);
            silo.UseInMemoryReminderService();
            return;
        }

        silo.UseRedisClustering(o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(cluster.Redis!));
        silo.UseRedisReminderService(o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(cluster.Redis!));
        // The cluster configuration lives in Redis too, so any silo can host its grain after a failure.
        silo.AddRedisGrainStorage(Ingest.Configuration.ConfigGrain.StorageName, o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(cluster.Redis!));
        // Orleans' own serializer, not the default JSON one: that JSON drops properties holding their
        // type's default value, so a disabled key (enabled=false) would come back enabled.
        silo.Services.AddOptions<Orleans.Persistence.RedisStorageOptions>(Ingest.Configuration.ConfigGrain.StorageName)
            .Configure<Orleans.Serialization.Serializer>((o, serializer) => o.GrainStorageSerializer = new Orleans.Storage.OrleansGrainStorageSerializer(serializer));
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        if (string.IsNullOrWhiteSpace(cluster.AdvertisedAddress))
        {
            silo.ConfigureEndpoints(cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
        }
        else
        {
            silo.ConfigureEndpoints(System.Net.IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: true);
        }

        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = cluster.ProbeTimeout;
            o.NumMissedProbesLimit = cluster.MissedProbesLimit;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(10);
        });
        silo.UseMembershipLease(cluster.IsolationTimeout);
    }
}
