namespace Ingest.Configuration;

/// <summary>Which producer settings are secrets: their values never leave the cluster in an admin read or a log.</summary>
public static class KafkaSecrets
{
    /// <summary>What an admin read shows instead of a secret's value; sent back unchanged in a PUT, it keeps the value.</summary>
    public const string Redacted = "<redacted>";

    public static bool IsSecret(string setting) =>
        setting.Contains("password", StringComparison.OrdinalIgnoreCase)
        || setting.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || setting.Contains("oauthbearer.config", StringComparison.OrdinalIgnoreCase)
        || setting.Contains("key.pem", StringComparison.OrdinalIgnoreCase);

    /// <summary><paramref name="config"/> as an operator may see it: producer secrets replaced by <see cref="Redacted"/> (key hashes are never serialized).</summary>
    public static ClusterConfig Redact(ClusterConfig config) =>
        config with
        {
            Kafka = config.Kafka with
            {
                ProducerSettings = config.Kafka.ProducerSettings.ToDictionary(
                    setting => setting.Key,
                    setting => IsSecret(setting.Key) ? Redacted : setting.Value,
                    StringComparer.Ordinal),
            },
        };
}
