using Microsoft.Extensions.Options;

namespace Ingest.Api.Options;

/// <summary>
/// How silos and frontends find each other, section <c>Cluster</c>, read by the Silo and the Api alike.
/// Without Redis the single-node localhost defaults apply.
/// </summary>
public sealed class ClusterSettings
{
    public const string SectionName = "Cluster";

    /// <summary>Silo-to-silo port. Default 11111.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port frontends (Orleans clients) connect to. Default 30000.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// Redis connection string (StackExchange.Redis syntax, e.g. <c>127.0.0.1:6379</c>). When set, silos
    /// and frontends find each other through Redis membership and reminders are stored in Redis; when
    /// empty, a single silo on localhost. Default empty.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>
    /// The IP address a silo advertises to the others (and to frontends). Empty: Orleans picks this
    /// host's first non-loopback address. Use 127.0.0.1 for several silos on one machine. Default empty.
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>
    /// How long a silo may miss probes before the others declare it dead: membership probe timeout.
    /// With <see cref="MissedProbesLimit"/> 3, a killed silo is declared dead in about 3 s on a LAN
    /// (Orleans' defaults take ~11 s). Default 2 s.
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Missed probes before a silo is suspected. Default 3.</summary>
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>
    /// How long a silo keeps taking appends when it can confirm its membership neither in the membership table
    /// nor with a majority of the other silos (it is cut off). Past it the silo answers 503 and <c>/readyz</c>
    /// 503 until it confirms again. Must be shorter than <see cref="ProbeTimeout"/> × <see cref="MissedProbesLimit"/>,
    /// the soonest the others can declare it dead and serve its topics. Default 4 s.
    /// </summary>
    public TimeSpan IsolationTimeout { get; set; } = TimeSpan.FromSeconds(4);

    public bool UsesRedis => !string.IsNullOrWhiteSpace(Redis);

    /// <summary>
    /// Longest a graceful stop (SIGTERM) may take before a silo exits anyway. Keep it below the
    /// orchestrator's grace period (60 s in deploy/). Default 45 s.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>
    /// Whether a silo that is stopped (SIGTERM) first drains itself (topics handed over to the other silos, its
    /// disk shipped to Kafka) for up to two thirds of <see cref="ShutdownTimeout"/>: for scale-down. Default false.
    /// </summary>
    public bool DrainOnShutdown { get; set; }

    public string ClusterId { get; set; } = "ingest";

    public string ServiceId { get; set; } = "ingest";

    /// <summary>
    /// How long a grain call may take before the frontend answers 503. Orleans' default is 30 s, far
    /// too long for a client waiting on an HTTP answer. Default 5 s.
    /// </summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public static ClusterSettings From(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var settings = new ClusterSettings();
        configuration.GetSection(SectionName).Bind(settings);
        var result = new ClusterSettingsValidator().Validate(null, settings);
        if (result.Failed)
        {
            throw new OptionsValidationException(SectionName, typeof(ClusterSettings), result.Failures);
        }

        return settings;
    }
}

internal sealed class ClusterSettingsValidator : IValidateOptions<ClusterSettings>
{
    public ValidateOptionsResult Validate(string? name, ClusterSettings options)
    {
        var errors = new List<string>();
        if (options.SiloPort is <= 0 or > 65535)
        {
            errors.Add($"Cluster:SiloPort must be a TCP port (was {options.SiloPort}).");
        }

        if (options.GatewayPort is <= 0 or > 65535)
        {
            errors.Add($"Cluster:GatewayPort must be a TCP port (was {options.GatewayPort}).");
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId))
        {
            errors.Add("Cluster:ClusterId must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.ServiceId))
        {
            errors.Add("Cluster:ServiceId must not be empty.");
        }

        if (!string.IsNullOrWhiteSpace(options.AdvertisedAddress) && !System.Net.IPAddress.TryParse(options.AdvertisedAddress, out _))
        {
            errors.Add($"Cluster:AdvertisedAddress must be an IP address (was '{options.AdvertisedAddress}').");
        }

        if (options.ProbeTimeout < TimeSpan.FromMilliseconds(500))
        {
            errors.Add($"Cluster:ProbeTimeout must be at least 500 ms (was {options.ProbeTimeout}).");
        }

        if (options.MissedProbesLimit is < 2 or > 10)
        {
            errors.Add($"Cluster:MissedProbesLimit must be between 2 and 10 (was {options.MissedProbesLimit}).");
        }

        if (options.IsolationTimeout < TimeSpan.FromSeconds(1) || options.IsolationTimeout >= options.ProbeTimeout * options.MissedProbesLimit)
        {
            errors.Add($"Cluster:IsolationTimeout must be at least 1 second and shorter than Cluster:ProbeTimeout × Cluster:MissedProbesLimit ({(options.ProbeTimeout * options.MissedProbesLimit).TotalSeconds:0.#} s), the soonest the other silos can declare this one dead (was {options.IsolationTimeout}).");
        }

        if (options.ShutdownTimeout < TimeSpan.FromSeconds(1))
        {
            errors.Add($"Cluster:ShutdownTimeout must be at least 1 second (was {options.ShutdownTimeout}).");
        }

        if (options.ResponseTimeout <= TimeSpan.Zero)
        {
            errors.Add($"Cluster:ResponseTimeout must be positive (was {options.ResponseTimeout}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
