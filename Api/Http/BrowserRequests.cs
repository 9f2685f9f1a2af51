using Ingest.Api.Access;
using Microsoft.AspNetCore.Http;

namespace Ingest.Api.Http;

/// <summary>
/// Web pages as senders (CORS). Only once origins are allowed (the configuration's <c>allowedOrigins</c>, or a browser
/// key's <c>origins</c>) does any of this apply: a preflight from an allowed origin gets 204 with what the page may
/// send; an ingest request from an allowed page gets <c>Access-Control-Allow-Origin</c> so the page can read its
/// answer; a request whose <c>Origin</c> is allowed neither for the cluster nor for its key gets 403 and nothing is
/// stored (that also stops the "simple" no-cors POSTs browsers send without a preflight).
/// </summary>
internal sealed class BrowserRequests(AccessControl access)
{
    public const string AllowedMethods = "POST";
    public const string AllowedHeaders = "content-type, content-encoding, authorization, x-api-key, idempotency-key";
    public const string ExposedHeaders = "Retry-After, Idempotent-Replayed";
    public const string MaxAgeSeconds = "600";

    /// <summary><c>OPTIONS</c> on an ingest endpoint.</summary>
    public Task Preflight(HttpContext context)
    {
        var response = context.Response;
        var origin = context.Request.Headers.Origin;
        var policy = access.Policy;
        if (!policy.BrowsersConfigured || origin.Count != 1)
        {
            response.Headers.Allow = "POST, OPTIONS";
            response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }

        if (!policy.MayPreflight(origin[0]!))
        {
            return Problems.Write(context, StatusCodes.Status403Forbidden, "Origin not allowed",
                $"Pages of '{origin[0]}' may not send here: the origin is in neither the cluster's allowedOrigins nor a browser key's origins.");
        }

        AllowOrigin(response, origin[0]!);
        response.Headers.AccessControlAllowMethods = AllowedMethods;
        response.Headers.AccessControlAllowHeaders = AllowedHeaders;
        response.Headers.AccessControlMaxAge = MaxAgeSeconds;
        response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    /// <summary>
    /// Before access is checked: a request from a page whose origin may send here gets the CORS headers, so the page
    /// can read whatever the answer is (a 401 or 503 included).
    /// </summary>
    public void Expose(HttpContext context)
    {
        var policy = access.Policy;
        if (policy.BrowsersConfigured && context.Request.Headers.Origin is { Count: 1 } origin && policy.MayPreflight(origin[0]!))
        {
            AllowOrigin(context.Response, origin[0]!);
            context.Response.Headers.AccessControlExposeHeaders = ExposedHeaders;
        }
    }

    /// <summary>After access: null when the request's origin (if any) may send with its key, else the 403.</summary>
    public Rejection? Check(HttpContext context, KeyGrant? grant)
    {
        var origin = context.Request.Headers.Origin;
        if (origin.Count == 0)
        {
            return grant?.Origins is null ? null : new Rejection(StatusCodes.Status403Forbidden, "Browser key without an origin",
                $"Key '{grant.Name}' is a browser key: it is taken only from the pages of its origins (the request has no Origin).");
        }

        var policy = access.Policy;
        if (!policy.BrowsersConfigured || policy.AllowsOrigin(origin[0]!, grant))
        {
            return null;
        }

        return new Rejection(StatusCodes.Status403Forbidden, "Origin not allowed",
            grant?.Origins is not null
                ? $"Key '{grant.Name}' may be used only from its own origins, not from '{origin[0]}'. Nothing was stored."
                : $"Pages of '{origin[0]}' may not send here (not in the cluster's allowedOrigins). Nothing was stored.");
    }

    private static void AllowOrigin(HttpResponse response, string origin)
    {
        response.Headers.AccessControlAllowOrigin = origin;
        response.Headers.Vary = "Origin";
    }
}
