using Ingest.Api.Diagnostics;
using Ingest.Api.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Ingest.Api.Hosting;

public static class IngestClientBuilderExtensions
{
    /// <summary>
    /// Connects a frontend to the cluster described by <see cref="ClusterSettings"/>, with a short
    /// response timeout (a dead silo costs a client seconds, not Orleans' default 30 s) and endless
    /// gateway retries, so a frontend started before its silos comes up unready and turns ready.
    /// </summary>
    public static IClientBuilder UseIngestCluster(this IClientBuilder client, ClusterSettings cluster)
    {
        if (cluster.UsesRedis)
        {
            client.UseRedisClustering(o => o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(cluster.Redis!));
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = cluster.ClusterId;
                o.ServiceId = cluster.ServiceId;
            });
            // A gateway whose host went silent fails no connection: only the list from Redis (Active silos) drops
            // it. Orleans reads that list once a minute; every 5 s a frontend stops sending to a dead silo soon.
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
        }
        else
        {
            client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
        }

        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = cluster.ResponseTimeout);
        client.Services.AddSingleton<IClientConnectionRetryFilter, GatewayRetryFilter>();
        return client;
    }

    private sealed class GatewayRetryFilter(ILogger<GatewayRetryFilter> logger) : IClientConnectionRetryFilter
    {
        private int _attempt;

        public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
        {
            var attempt = Interlocked.Increment(ref _attempt);
            ApiLog.ClusterUnreachable(logger, exception, attempt);
            // Back-off between connection attempts (capped at 5 s), not a wait for an event.
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, 5)), cancellationToken);
            return true;
        }
    }
}
