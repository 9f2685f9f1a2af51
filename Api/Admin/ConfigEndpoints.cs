using Ingest.Api.Diagnostics;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ingest.Api.Http;
using Ingest.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Ingest.Api.Admin;

/// <summary>Body of <c>POST /v1/admin/keys</c>.</summary>
internal sealed record NewKeyRequest(
    string? Name,
    List<string>? Topics = null,
    double? RecordsPerSecond = null,
    double? BytesPerSecond = null,
    double BurstSeconds = 1,
    bool Enabled = true);

/// <summary>Answer of <c>POST /v1/admin/keys</c>: the only time the key itself is shown.</summary>
internal sealed record CreatedKey(string Name, string Key, string Fingerprint, long Version);

/// <summary>
/// The cluster configuration over HTTP, behind the admin key:
/// <list type="bullet">
/// <item><c>GET /v1/admin/config</c>: the configuration and its <c>version</c>; key hashes are never
/// shown (a <c>fingerprint</c> tells keys apart) and secret producer settings read <c>&lt;redacted&gt;</c>.</item>
/// <item><c>PUT /v1/admin/config</c>: replaces it with an edit of what GET returned (same <c>version</c>,
/// else 409). Unknown fields, invalid values and unknown key names get 400 naming the field; the
/// configuration is then unchanged.</item>
/// <item><c>POST /v1/admin/keys</c> creates a producer key and shows it once; <c>DELETE /v1/admin/keys/{name}</c> revokes it.</item>
/// </list>
/// Every change is in force on the node that made it when it answers, and pushed to every other node
/// within about a second; each node's <c>/readyz</c> shows the version it runs.
/// </summary>
internal sealed partial class ConfigEndpoints(IGrainFactory grains, LiveConfig live, TimeProvider time, ILogger<ConfigEndpoints> logger)
{
    private const int MaxBodyBytes = 1024 * 1024;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private IConfigGrain Grain => grains.GetGrain<IConfigGrain>(IConfigGrain.Key);

    public async Task Get(HttpContext context)
    {
        var config = await Grain.Get().WaitAsync(CallTimeout, time);
        await Results.Json(KafkaSecrets.Redact(config), Json).ExecuteAsync(context);
    }

    /// <summary><c>GET /v1/admin/config/nodes</c>: the current version and, per subscribed node, the version it runs.</summary>
    public async Task Nodes(HttpContext context)
    {
        var grain = Grain;
        var config = await grain.Get().WaitAsync(CallTimeout, time);
        var nodes = await grain.Nodes().WaitAsync(CallTimeout, time);
        await Results.Json(new { config.Version, Nodes = nodes }, Json).ExecuteAsync(context);
    }

    public async Task Replace(HttpContext context)
    {
        if (!TryParse<ClusterConfig>(await ReplayEndpoints.ReadSmallBodyAsync(context, MaxBodyBytes), out var proposed, out var problem))
        {
            await WriteInvalid(context, [problem]);
            return;
        }

        var change = await Grain.Replace(proposed).WaitAsync(CallTimeout, time);
        await WriteChange(context, change, StatusCodes.Status200OK, () => Results.Json(KafkaSecrets.Redact(change.Config), Json));
    }

    public async Task CreateKey(HttpContext context)
    {
        if (!TryParse<NewKeyRequest>(await ReplayEndpoints.ReadSmallBodyAsync(context, MaxBodyBytes), out var request, out var problem))
        {
            await WriteInvalid(context, [problem]);
            return;
        }

        var secret = NewSecret();
        var key = new ProducerKey
        {
            Name = request.Name ?? "",
            Hash = ConfigSeed.HashOf(secret),
            Topics = request.Topics,
            RecordsPerSecond = request.RecordsPerSecond,
            BytesPerSecond = request.BytesPerSecond,
            BurstSeconds = request.BurstSeconds,
            Enabled = request.Enabled,
        };
        var change = await Grain.AddKey(key).WaitAsync(CallTimeout, time);
        await WriteChange(context, change, StatusCodes.Status201Created, () =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(new CreatedKey(key.Name, secret, key.Fingerprint, change.Config.Version), Json, statusCode: StatusCodes.Status201Created);
        });
    }

    public async Task DeleteKey(HttpContext context)
    {
        var name = context.GetRouteValue("name") as string ?? "";
        var change = await Grain.RemoveKey(name).WaitAsync(CallTimeout, time);
        await WriteChange(context, change, StatusCodes.Status204NoContent, () => Results.NoContent());
    }

    private async Task WriteChange(HttpContext context, ConfigChange change, int status, Func<IResult> applied)
    {
        switch (change.Status)
        {
            case ConfigChangeStatus.Applied:
                // Read your own writes: this node runs the new version before it answers (the push to the
                // other nodes may still be on its way).
                live.Offer(change.Config);
                ConfigChanged(logger, context.Request.Method, context.Request.Path, change.Config.Version);
                context.Response.Headers["X-Config-Version"] = change.Config.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await applied().ExecuteAsync(context);
                return;
            case ConfigChangeStatus.Conflict:
                await Problems.Write(context, StatusCodes.Status409Conflict, "Configuration conflict", string.Join(" ", change.Errors));
                return;
            case ConfigChangeStatus.NotFound:
                await Problems.Write(context, StatusCodes.Status404NotFound, "Not found", string.Join(" ", change.Errors));
                return;
            default:
                await WriteInvalid(context, change.Errors);
                return;
        }
    }

    private static Task WriteInvalid(HttpContext context, IReadOnlyList<string> errors) =>
        Results.Problem(
            detail: "The configuration was not changed. " + string.Join(" ", errors),
            statusCode: StatusCodes.Status400BadRequest,
            title: "Invalid configuration change",
            extensions: new Dictionary<string, object?> { ["errors"] = errors }).ExecuteAsync(context);

    internal static bool TryParse<T>(byte[] body, out T value, out string problem)
        where T : class
    {
        value = null!;
        if (body.Length == 0)
        {
            problem = $"The body must be a JSON object (at most {MaxBodyBytes} bytes).";
            return false;
        }

        try
        {
            var parsed = JsonSerializer.Deserialize<T>(body, Json);
            if (parsed is null)
            {
                problem = "The body must be a JSON object, not null.";
                return false;
            }

            value = parsed;
            problem = "";
            return true;
        }
        catch (JsonException e)
        {
            // The message names the JSON path (e.g. "$.topics.orders.shards" or an unknown property).
            problem = e.Message;
            return false;
        }
    }

    /// <summary>A new producer key: "ik_" and 32 random bytes in base64url (256 bits; too long to guess, so one SHA-256 is enough to store it).</summary>
    private static string NewSecret()
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        return "ik_" + Base64Url.EncodeToString(random);
    }

    [LoggerMessage(EventId = (int)IngestEventCode.AdminConfigChanged, Level = LogLevel.Information, Message = "Admin {Method} {Path}: cluster configuration is now version {Version}")]
    private static partial void ConfigChanged(ILogger logger, string method, string path, long version);
}
