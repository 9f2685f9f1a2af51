using System.Collections.Concurrent;
using Ingest.Api.Options;
using Ingest.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Access;

/// <summary>Why a request was refused by <see cref="AccessControl"/>.</summary>
internal enum AccessDenial
{
    None,
    NotConfigured,
    MissingKey,
    UnknownKey,
    TopicNotListed,
    TopicNotGranted,
    KeyInUrlNotBrowserKey,
}

/// <summary>
/// Who may write what, on this frontend: the current <see cref="AccessPolicy"/> (rebuilt from
/// <see cref="LiveConfig"/> on every change) and the rate limiters of the keys, which outlive versions.
/// Keys are read from <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key</c>.
/// </summary>
internal sealed class AccessControl : IDisposable
{
    private readonly ConcurrentDictionary<string, KeyRateLimiter> _limiters = new(StringComparer.Ordinal);
    private readonly IngestApiOptions _options;
    private readonly TimeProvider _time;
    private readonly IDisposable _subscription;
    private volatile AccessPolicy _policy = null!;

    public AccessControl(LiveConfig config, IOptions<IngestApiOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        _subscription = config.Subscribe(Rebuild);
    }

    public AccessPolicy Policy => _policy;

    /// <summary>
    /// Checks a request for <paramref name="topic"/>: the configuration is here, the topic is admitted,
    /// and (when keys exist) the request carries an enabled key that may write it.
    /// </summary>
    public AccessDenial Check(HttpRequest request, string topic, out TopicRoute? route, out KeyGrant? grant)
    {
        var policy = _policy;
        grant = null;
        route = null;
        if (!policy.FromCluster)
        {
            return AccessDenial.NotConfigured;
        }

        if (policy.AuthRequired)
        {
            var presented = PresentedKey(request, out var inUrl);
            if (presented.IsEmpty)
            {
                return AccessDenial.MissingKey;
            }

            grant = policy.Authenticate(presented);
            if (grant is not { Enabled: true })
            {
                grant = null;
                return AccessDenial.UnknownKey;
            }

            if (inUrl && grant.Origins is null)
            {
                // A URL ends up in logs and histories: only a browser key, public by design, may travel there.
                grant = null;
                return AccessDenial.KeyInUrlNotBrowserKey;
            }
        }

        route = policy.Route(topic);
        if (route is null)
        {
            return AccessDenial.TopicNotListed;
        }

        return grant is null || grant.MayWrite(topic) ? AccessDenial.None : AccessDenial.TopicNotGranted;
    }

    /// <summary>
    /// The key in <c>Authorization: Bearer</c>, else in <c>X-Api-Key</c>, else (a beacon, which cannot set headers)
    /// in <c>?apiKey=</c>; empty if none.
    /// </summary>
    internal static ReadOnlySpan<char> PresentedKey(HttpRequest request, out bool inUrl)
    {
        inUrl = false;
        var headers = request.Headers;
        var authorization = headers.Authorization;
        if (authorization.Count == 1)
        {
            var value = authorization[0].AsSpan().Trim();
            return value.Length > 7 && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value[7..].Trim() : [];
        }

        var apiKey = headers["X-Api-Key"];
        if (apiKey.Count == 1)
        {
            return apiKey[0].AsSpan().Trim();
        }

        if (request.QueryString.HasValue && request.Query.TryGetValue("apiKey", out var fromUrl) && fromUrl.Count == 1)
        {
            inUrl = true;
            return fromUrl[0].AsSpan().Trim();
        }

        return [];
    }

    private void Rebuild(ClusterConfig config)
    {
        foreach (var name in _limiters.Keys.Where(name => !config.Keys.Exists(key => key.Name == name)))
        {
            _limiters.TryRemove(name, out _);
        }

        _policy = new AccessPolicy(config, config.Version > 0, _options.MaxRecordBytes, _options.MaxRequestBytes, LimiterOf);
    }

    private KeyRateLimiter? LimiterOf(ProducerKey key)
    {
        if (key.RecordsPerSecond is null && key.BytesPerSecond is null)
        {
            _limiters.TryRemove(key.Name, out _);
            return null;
        }

        var limiter = _limiters.GetOrAdd(key.Name, _ => new KeyRateLimiter(_time));
        limiter.Configure(key.RecordsPerSecond, key.BytesPerSecond, key.BurstSeconds);
        return limiter;
    }

    public void Dispose() => _subscription.Dispose();
}
