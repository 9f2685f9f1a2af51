using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Ingest.Configuration;

/// <summary>
/// The seed settings (<c>Ingest:TopicMode</c>, <c>Ingest:Topics</c>, <c>Ingest:Shards</c>, <c>Kafka:BootstrapServers</c>,
/// <c>Kafka:ProducerSettings</c>, <c>Kafka:Topics</c>, <c>Auth:*</c>) have one home: the cluster configuration they
/// seed. They are checked once, at start, by that configuration's own rules (<see cref="ConfigRules"/>) — the
/// same that judge every later change through the admin API. (An options type without options: it only
/// gives the check a place in the host's start-up validation.)
/// </summary>
internal sealed class ConfigSeedCheck;

internal sealed class ConfigSeedValidator(IConfiguration configuration) : IValidateOptions<ConfigSeedCheck>
{
    public ValidateOptionsResult Validate(string? name, ConfigSeedCheck options)
    {
        ClusterConfig seed;
        try
        {
            seed = ConfigSeed.From(configuration);
        }
        catch (InvalidSettingException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }

        var errors = ConfigRules.Validate(seed);
        return errors.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(errors.Select(error => "the cluster configuration these settings seed is invalid: " + error));
    }
}
