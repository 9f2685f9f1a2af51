using System.Reflection;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Ingest.Topics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace Ingest.Api.Status;

/// <summary>One topic over the whole cluster, for the status page.</summary>
internal sealed record TopicSummary(string Topic, string KafkaTopic, long AppendedRecords, long ShippedRecords, long BacklogRecords, long BacklogBytes, double OldestUnshippedSeconds, string? LastError);

/// <summary>The cluster's state as <c>GET /v1/status</c> answers it; <c>Dashboard</c> is where this node serves the Orleans dashboard, or null.</summary>
internal sealed record StatusDocument(long ConfigVersion, long NowMs, IReadOnlyList<NodeStatus> Silos, IReadOnlyList<TopicSummary> Topics, IReadOnlyList<string> Unreachable, string? Dashboard);

/// <summary>
/// <c>GET /v1/status</c>: every silo's disk and Kafka state and every topic's counts, backlog and oldest
/// unshipped record, summed over the silos (topic labels bounded like the metrics). <c>GET /</c> and
/// <c>GET /status</c>: the page that shows it, plain HTML and JS served from this assembly (no CDN).
/// </summary>
internal sealed class StatusEndpoints(IGrainFactory grains, LiveConfig config, TopicLabels labels, TimeProvider time, IOptions<StatusPageOptions> page)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);
    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Ingest.Api.Status.status.html")
            ?? throw new InvalidOperationException("status.html is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public async Task Get(HttpContext context)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(CallTimeout, time);
        var calls = hosts.Keys.Select(async silo =>
        {
            try
            {
                return (Silo: silo, Status: (NodeStatus?)await grains.GetGrain<IForwarderGrain>(Forwarders.KeyFor(silo)).GetNodeStatus().WaitAsync(CallTimeout, time));
            }
            catch (Exception e) when (e is TimeoutException or OrleansException or InvalidOperationException)
            {
                return (Silo: silo, Status: null);
            }
        }).ToList();
        var results = await Task.WhenAll(calls);
        var silos = results.Where(r => r.Status is not null).Select(r => r.Status!).OrderBy(s => s.Silo, StringComparer.Ordinal).ToList();
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var topics = silos
            .SelectMany(s => s.Topics)
            .GroupBy(t => labels.LabelFor(t.Topic))
            .Select(group =>
            {
                var oldest = group.Min(t => t.OldestUnshippedMs ?? long.MaxValue);
                return new TopicSummary(
                    group.Key,
                    group.First().KafkaTopic,
                    group.Sum(t => t.AppendedRecords),
                    group.Sum(t => t.ShippedRecords),
                    group.Sum(t => t.BacklogRecords),
                    group.Sum(t => t.UnshippedBytes),
                    oldest == long.MaxValue ? 0 : Math.Max(0, nowMs - oldest) / 1000.0,
                    group.Select(t => t.LastError).FirstOrDefault(e => e is not null));
            })
            .OrderBy(t => t.Topic, StringComparer.Ordinal)
            .ToList();
        var unreachable = results.Where(r => r.Status is null).Select(r => r.Silo.ToString()).ToList();
        await Results.Json(new StatusDocument(config.Current.Version, nowMs, silos, topics, unreachable, page.Value.DashboardPath)).ExecuteAsync(context);
    }

    public static Task Html(HttpContext context)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["Content-Security-Policy"] = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'";
        return context.Response.Body.WriteAsync(Page.Value).AsTask();
    }
}
