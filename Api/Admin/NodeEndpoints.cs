using Ingest.Api.Http;
using Ingest.Configuration;
using Ingest.Topics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Ingest.Api.Admin;

/// <summary>
/// <c>POST /v1/admin/nodes/{silo}/drain</c> drains a silo (its address as <c>/v1/status</c> names it, or <c>self</c>
/// on a silo host): it is added to the cluster configuration's <c>drainedSilos</c>, every node stops placing topics
/// on it, it hands its topics over and ships what it holds; <c>/v1/status</c> shows it <c>draining</c>, then
/// <c>drained</c>. <c>DELETE</c> on the same path takes it back (it takes work again). Entries of silos that
/// are no longer members are dropped on the way.
/// </summary>
internal sealed class NodeEndpoints(IGrainFactory grains, LiveConfig live, TimeProvider time, IServiceProvider services)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    public Task Drain(HttpContext context) => Change(context, drain: true);

    public Task Undrain(HttpContext context) => Change(context, drain: false);

    private async Task Change(HttpContext context, bool drain)
    {
        var named = context.GetRouteValue("silo") as string ?? string.Empty;
        var silo = named == "self" && services.GetService<ILocalSiloDetails>() is { } local ? Forwarders.KeyFor(local.SiloAddress) : named;
        var members = await DrainedSiloChange.MembersAsync(grains, CallTimeout, time);
        if (drain && !members.Contains(silo))
        {
            await Problems.Write(context, StatusCodes.Status404NotFound, "Unknown silo",
                $"No active silo is '{silo}'. Name it as /v1/status does (ip:port@generation){(services.GetService<ILocalSiloDetails>() is null ? string.Empty : ", or 'self' for this silo")}.");
            return;
        }

        var change = await DrainedSiloChange.SetAsync(grains, silo, drain, members, CallTimeout, time);
        switch (change.Status)
        {
            case ConfigChangeStatus.Applied:
                live.Offer(change.Config);
                context.Response.Headers["X-Config-Version"] = change.Config.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Results.Json(new DrainAnswer(silo, drain ? "draining" : "serving", change.Config.Version), statusCode: drain ? StatusCodes.Status202Accepted : StatusCodes.Status200OK).ExecuteAsync(context);
                return;
            case ConfigChangeStatus.NotFound:
                await Problems.Write(context, StatusCodes.Status404NotFound, "Not drained", string.Join(" ", change.Errors));
                return;
            case ConfigChangeStatus.Conflict:
                await Problems.Write(context, StatusCodes.Status409Conflict, "Configuration conflict", "The configuration kept changing while this request tried to change it; try again.");
                return;
            default:
                await Problems.Write(context, StatusCodes.Status400BadRequest, "Invalid configuration", string.Join(" ", change.Errors));
                return;
        }
    }
}

internal sealed record DrainAnswer(string Silo, string State, long ConfigVersion);
