using Ingest.Audit;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Ingest.Forwarding;
using Ingest.Kafka;
using Ingest.Options;
using Ingest.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace Ingest.Hosting;

public static class IngestSiloBuilderExtensions
{
    /// <summary>
    /// Adds Ingest to a silo: options (sections <c>Ingest</c>, <c>Kafka</c>, <c>DevKafka</c>), the segment
    /// store (opened, locked and recovered before the silo takes grain calls), the topic grains, and the
    /// forwarding grain that ships this silo's segments to Kafka.
    /// </summary>
    public static ISiloBuilder AddIngest(this ISiloBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IngestOptions>, IngestOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddKeyedSingleton<TimeProvider>(IngestClock.ServiceKey, (sp, _) => sp.GetRequiredService<TimeProvider>());
        // Membership's clock counts from this silo's start; see MembershipClock for the Orleans start-up race it closes.
        services.AddKeyedSingleton<TimeProvider>(Orleans.Runtime.TimeProviderNames.Membership, (sp, _) => new MembershipClock(sp.GetRequiredService<TimeProvider>()));
        services.AddMetrics();
        services.TryAddSingleton<IngestInstruments>();
        services.TryAddSingleton<AppendCounts>();
        services.TryAddSingleton<DiskBudget>();
        services.TryAddSingleton<IDiskUsage>(sp => sp.GetRequiredService<DiskBudget>());
        services.TryAddSingleton<Audit.AuditBook>();
        services.TryAddSingleton<SegmentStore>();
        services.TryAddSingleton<IStorageStatus>(sp => sp.GetRequiredService<SegmentStore>());
        services.TryAddSingleton<Archive.SegmentArchive>();
        services.TryAddSingleton(sp => new Topics.DiskRoom(sp.GetRequiredService<DiskBudget>(), sp.GetRequiredService<Archive.SegmentArchive>().Evict));
        services.TryAddSingleton<Topics.TopicWriters>();
        services.TryAddSingleton<Topics.RememberedKeys>();
        services.TryAddSingleton<Topics.RequestAppender>();
        services.TryAddSingleton<Membership.IClusterStanding, Membership.SoleSilo>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SegmentStoreLifecycle>();
        services.AddPlacementDirector<Topics.TopicShardPlacement, Topics.TopicShardPlacementDirector>();
        services.AddPlacementDirector<ForwarderPlacement, ForwarderPlacementDirector>();

        // The cluster configuration: this silo's copy, and the configuration grain's storage (a file in the
        // data directory unless the host registered another, e.g. Redis, under the same name first).
        services.AddLiveConfig();
        services.AddOptions<ConfigSeedCheck>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConfigSeedCheck>, ConfigSeedValidator>());
        services.TryAddKeyedSingleton<IGrainStorage>(ConfigGrain.StorageName, (sp, _) => FileGrainStorage.Create(sp, sp.GetRequiredService<IOptions<IngestOptions>>().Value));

        // Forwarding to Kafka (sections Kafka and DevKafka).
        services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KafkaOptions>, KafkaOptionsValidator>());
        services.AddOptions<DevKafkaOptions>().BindConfiguration(DevKafkaOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DevKafkaOptions>, DevKafkaOptionsValidator>());
        services.TryAddSingleton<KafkaEndpoint>();
        services.TryAddSingleton<IAuditVerifier, AuditVerifier>();
        services.TryAddSingleton<KafkaProducerHost>();
        services.TryAddSingleton(ShippingContext.Create);
        services.TryAddSingleton<ForwardingScheduler>();
        services.TryAddSingleton<TopicLogs>();
        services.TryAddSingleton<ReplayRunner>();
        services.TryAddSingleton<ForwardingEngine>();
        services.TryAddSingleton<ISegmentEvents>(sp => sp.GetRequiredService<ForwardingEngine>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ForwarderLifecycle>();
        services.TryAddSingleton<IShippingBacklog>(sp => sp.GetRequiredService<ForwardingEngine>());
        services.TryAddSingleton<IKafkaAcks>(sp => sp.GetRequiredService<ForwardingEngine>());

        // Drained by the cluster configuration: hand the topics over, ship, say when empty.
        services.TryAddSingleton<NodeDrain>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<NodeDrain>());
        services.TryAddSingleton<IDrainState>(sp => sp.GetRequiredService<NodeDrain>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ShutdownDrain>();

        // Removed from the cluster: leave cleanly (seal, ship, exit code 5) instead of Orleans' fail-fast.
        services.TryAddSingleton<IProcessExit, EnvironmentExit>();
        services.AddSingleton<IFatalErrorHandler, SiloRemoval>();
        return builder;
    }
}

public static class MembershipLeaseExtensions
{
    /// <summary>
    /// For a silo of a real cluster (membership in Redis): the lease that fences it when it cannot confirm its
    /// membership for <paramref name="isolationTimeout"/> (see <see cref="Membership.MembershipLease"/>).
    /// </summary>
    public static ISiloBuilder UseMembershipLease(this ISiloBuilder builder, TimeSpan isolationTimeout)
    {
        builder.Services.Configure<Membership.MembershipLeaseOptions>(o => o.IsolationTimeout = isolationTimeout);
        builder.Services.AddSingleton<Membership.PeerProbe>();
        builder.Services.AddSingleton<Membership.MembershipLease>();
        builder.Services.AddSingleton<Membership.IClusterStanding>(sp => sp.GetRequiredService<Membership.MembershipLease>());
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<Membership.MembershipLease>());
        return builder;
    }
}

public static class IngestSiloStartChecks
{
    /// <summary>
    /// What a silo must own, taken before the host starts, so that a second process fails with one clear
    /// error instead of halfway through Orleans' start: the data directory's lock (the store opens and
    /// recovers now), and, when this node would run the development broker, its fixed ports.
    /// </summary>
    public static void TakeWhatTheSiloOwns(this IServiceProvider services)
    {
        services.GetRequiredService<SegmentStore>().Open();
        if (services.GetRequiredService<IOptions<KafkaOptions>>().Value.Enabled)
        {
            services.GetRequiredService<KafkaEndpoint>().EnsureDevBrokerCanStart();
        }
    }
}

/// <summary>Opens the data directory at runtime initialisation (before any grain runs) and releases it last.</summary>
internal sealed class SegmentStoreLifecycle(SegmentStore store) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(
            nameof(SegmentStoreLifecycle),
            ServiceLifecycleStage.RuntimeInitialize,
            _ =>
            {
                store.Open();
                return Task.CompletedTask;
            },
            _ =>
            {
                store.Dispose();
                return Task.CompletedTask;
            });
}
