using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

using Ingest.Configuration;
using Ingest.Diagnostics;

namespace Ingest;

/// <summary>What both hosts register from this library.</summary>
public static class SharedServices
{
    /// <summary>This node's <see cref="LiveConfig"/>, starting from the seed of its own settings, and the topic labels it bounds.</summary>
    public static IServiceCollection AddLiveConfig(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new LiveConfig(ConfigSeed.From(sp.GetRequiredService<IConfiguration>())));
        services.TryAddSingleton<TopicLabels>();
        return services;
    }

    /// <summary>Keeps this node's <see cref="LiveConfig"/> in step with the cluster (a silo or a frontend with an Orleans client).</summary>
    public static IServiceCollection AddConfigSubscriber(this IServiceCollection services)
    {
        services.AddLiveConfig();
        services.TryAddSingleton(TimeProvider.System);
        if (!services.Any(service => service.ServiceType == typeof(ConfigSubscriber)))
        {
            services.AddSingleton<ConfigSubscriber>();
            services.AddHostedService(sp => sp.GetRequiredService<ConfigSubscriber>());
        }

        return services;
    }
}
