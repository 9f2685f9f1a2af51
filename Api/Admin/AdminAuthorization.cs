using System.Net;
using System.Security.Cryptography;
using System.Text;
using Ingest.Api.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Admin;

/// <summary>Section <c>Admin</c>: who may call <c>/v1/admin/*</c>.</summary>
public sealed class AdminOptions
{
    public const string SectionName = "Admin";

    /// <summary>
    /// The admin key, sent as <c>Authorization: Bearer &lt;key&gt;</c>; distinct from any producer key.
    /// When empty, admin endpoints answer only requests from the loopback interface (the single-node
    /// default binds 127.0.0.1). Default empty.
    /// </summary>
    public string? Key { get; set; }
}

/// <summary>Guards every admin endpoint: 401 problem+json unless the caller presents the admin key.</summary>
internal sealed class AdminAuthorization(IOptions<AdminOptions> options)
{
    private readonly byte[]? _keyHash = string.IsNullOrEmpty(options.Value.Key) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.Key));

    /// <summary>The admin endpoint <paramref name="inner"/>, answered only for an authorized caller.</summary>
    public RequestDelegate Guard(RequestDelegate inner) => async context =>
    {
        if (IsAllowed(context, out var problem))
        {
            await inner(context);
            return;
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        await Problems.Write(context, StatusCodes.Status401Unauthorized, "Admin key required", problem);
    };

    private bool IsAllowed(HttpContext context, out string problem)
    {
        if (_keyHash is null)
        {
            problem = "Admin:Key is not set, so admin endpoints answer only requests from this machine's loopback interface.";
            return context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address);
        }

        problem = "Send the admin key as 'Authorization: Bearer <key>'.";
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Compare hashes in constant time: neither the key's length nor its prefix leaks through timing.
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(presented, _keyHash);
    }
}
