using System.Text.RegularExpressions;
using Ingest.Topics;

namespace Ingest.Configuration;

/// <summary>What makes a configuration valid. Every message names the field by its JSON path.</summary>
internal static partial class ConfigRules
{
    public const int MaxKeys = 10_000;
    public const long MinSegmentBytes = 4096;
    public const int MaxRecordBytes = 64 * 1024 * 1024;

    public static List<string> Validate(ClusterConfig config)
    {
        var errors = new List<string>();
        if (!Enum.IsDefined(config.TopicMode))
        {
            errors.Add($"topicMode must be 'open' or 'allowList' (was {(int)config.TopicMode}).");
        }

        if (config.Topics is null)
        {
            errors.Add("topics must be an object (it may be empty).");
        }
        else
        {
            foreach (var (topic, settings) in config.Topics)
            {
                ValidateTopic(topic, settings, errors);
            }
        }

        if (config.Keys is null)
        {
            errors.Add("keys must be an array (it may be empty).");
        }
        else
        {
            ValidateKeys(config.Keys, errors);
        }

        ValidateOrigins(config.AllowedOrigins, "allowedOrigins", errors);
        ValidateDrained(config.DrainedSilos, errors);

        if (config.Kafka is null)
        {
            errors.Add("kafka must be an object.");
        }
        else
        {
            ValidateKafka(config.Kafka, errors);
        }

        return errors;
    }

    private static void ValidateDrained(List<string>? silos, List<string> errors)
    {
        if (silos is null)
        {
            errors.Add("drainedSilos must be an array (it may be empty).");
            return;
        }

        for (var i = 0; i < silos.Count; i++)
        {
            if (!Topics.DrainedSilos.IsSiloAddress(silos[i]))
            {
                errors.Add($"drainedSilos[{i}] must be a silo address as /v1/status names it (ip:port@generation), not '{silos[i]}'.");
            }
        }
    }

    private static void ValidateTopic(string topic, TopicSettings? settings, List<string> errors)
    {
        var path = $"topics.{topic}";
        if (!TopicName.IsValid(topic))
        {
            errors.Add($"{path}: '{topic}' is not a topic name (1 to 249 of [A-Za-z0-9._-], not '.' or '..').");
            return;
        }

        if (settings is null)
        {
            errors.Add($"{path} must be an object (it may be empty).");
            return;
        }

        if (settings.Shards is < 1 or > TopicShards.MaxShards)
        {
            errors.Add($"{path}.shards must be between 1 and {TopicShards.MaxShards} (was {settings.Shards}).");
        }

        if (settings.KafkaTopic is not null && !TopicName.IsValid(settings.KafkaTopic))
        {
            errors.Add($"{path}.kafkaTopic '{settings.KafkaTopic}' is not a Kafka topic name.");
        }

        if (settings.MaxSegmentBytes is < MinSegmentBytes)
        {
            errors.Add($"{path}.maxSegmentBytes must be at least {MinSegmentBytes} (was {settings.MaxSegmentBytes}).");
        }

        if (settings.RotateAfterSeconds is < 1)
        {
            errors.Add($"{path}.rotateAfterSeconds must be at least 1 (was {settings.RotateAfterSeconds}).");
        }

        if (settings.MaxRecordBytes is < 1 or > MaxRecordBytes)
        {
            errors.Add($"{path}.maxRecordBytes must be between 1 and {MaxRecordBytes} (was {settings.MaxRecordBytes}).");
        }
    }

    /// <summary>Web origins as browsers send them: <c>*</c>, or <c>http(s)://host[:port]</c> with nothing after it.</summary>
    private static void ValidateOrigins(List<string>? origins, string path, List<string> errors)
    {
        if (origins is null)
        {
            errors.Add($"{path} must be an array (it may be empty).");
            return;
        }

        if (origins.Count > 100)
        {
            errors.Add($"{path} holds {origins.Count} origins; at most 100.");
        }

        for (var i = 0; i < origins.Count; i++)
        {
            var origin = origins[i];
            if (origin == "*")
            {
                continue;
            }

            if (origin is null || !Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.GetLeftPart(UriPartial.Authority) != origin.TrimEnd('/') || origin.EndsWith('/'))
            {
                errors.Add($"{path}[{i}] '{origin}' is not an origin: use * or scheme://host[:port] (http or https, lower case, no path), e.g. https://shop.example.");
            }
        }
    }

    private static void ValidateKeys(List<ProducerKey> keys, List<string> errors)
    {
        if (keys.Count > MaxKeys)
        {
            errors.Add($"keys holds {keys.Count} keys; at most {MaxKeys}.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            var path = $"keys[{i}]";
            if (key is null)
            {
                errors.Add($"{path} must be an object.");
                continue;
            }

            if (!KeyName().IsMatch(key.Name ?? ""))
            {
                errors.Add($"{path}.name must be 1 to 64 of [A-Za-z0-9._-] (was '{key.Name}').");
            }
            else if (!names.Add(key.Name!))
            {
                errors.Add($"{path}.name '{key.Name}' is used by another key.");
            }

            if (!Sha256Hex().IsMatch(key.Hash ?? ""))
            {
                errors.Add($"{path}: the key's stored hash is missing or malformed.");
            }

            if (key.Origins is not null)
            {
                ValidateOrigins(key.Origins, $"{path}.origins", errors);
            }

            for (var t = 0; key.Topics is not null && t < key.Topics.Count; t++)
            {
                if (!TopicName.IsValid(key.Topics[t] ?? ""))
                {
                    errors.Add($"{path}.topics[{t}] '{key.Topics[t]}' is not a topic name.");
                }
            }

            if (key.RecordsPerSecond is not null && !(key.RecordsPerSecond > 0 && double.IsFinite(key.RecordsPerSecond.Value)))
            {
                errors.Add($"{path}.recordsPerSecond must be positive (was {key.RecordsPerSecond}).");
            }

            if (key.BytesPerSecond is not null && !(key.BytesPerSecond > 0 && double.IsFinite(key.BytesPerSecond.Value)))
            {
                errors.Add($"{path}.bytesPerSecond must be positive (was {key.BytesPerSecond}).");
            }

            if (!(key.BurstSeconds is > 0 and <= 3600))
            {
                errors.Add($"{path}.burstSeconds must be above 0 and at most 3600 (was {key.BurstSeconds}).");
            }
        }
    }

    private static void ValidateKafka(KafkaSettings kafka, List<string> errors)
    {
        if (kafka.BootstrapServers is not null && (string.IsNullOrWhiteSpace(kafka.BootstrapServers) || !IsBrokerList(kafka.BootstrapServers)))
        {
            errors.Add($"kafka.bootstrapServers must be host:port[,host:port...] or null for the embedded development broker (was '{kafka.BootstrapServers}').");
        }

        if (kafka.ProducerSettings is null)
        {
            errors.Add("kafka.producerSettings must be an object (it may be empty).");
            return;
        }

        foreach (var (setting, value) in kafka.ProducerSettings)
        {
            if (string.IsNullOrWhiteSpace(setting) || value is null)
            {
                errors.Add($"kafka.producerSettings: '{setting}' needs a name and a string value.");
            }
            else if (FixedProducerSettings.Contains(setting, StringComparer.OrdinalIgnoreCase))
            {
                errors.Add($"kafka.producerSettings.{setting} cannot be set: idempotence, acks=all and the broker list (kafka.bootstrapServers) are fixed by Ingest.");
            }
        }
    }

    /// <summary>Producer properties Ingest sets itself: its promise rests on them.</summary>
    internal static readonly string[] FixedProducerSettings = ["enable.idempotence", "acks", "request.required.acks", "bootstrap.servers"];

    internal static bool IsBrokerList(string value) =>
        value.Split(',').All(entry =>
        {
            var colon = entry.Trim().LastIndexOf(':');
            return colon > 0 && int.TryParse(entry.Trim()[(colon + 1)..], out var port) && port is > 0 and <= 65535;
        });

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex KeyName();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}
