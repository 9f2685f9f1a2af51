using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Ingest.Configuration;

/// <summary>
/// Builds a node's local configuration from its settings. The cluster's configuration grain stores
/// the seed of the silo it first activates on; after that, the stored configuration wins and changes go
/// through the admin API. Settings read:
/// <list type="bullet">
/// <item><c>Ingest:TopicMode</c> (<c>open</c> or <c>allowList</c>), <c>Ingest:Topics:&lt;topic&gt;:{Shards,KafkaTopic,MaxSegmentBytes,RotateAfterSeconds,MaxRecordBytes}</c>,
/// and the shorthands <c>Ingest:Shards:&lt;topic&gt;</c> and <c>Kafka:Topics:&lt;topic&gt;</c>;</item>
/// <item><c>Kafka:BootstrapServers</c> and <c>Kafka:ProducerSettings:*</c>;</item>
/// <item><c>Auth:Keys:&lt;name&gt;:{Key or KeyHash, Topics, RecordsPerSecond, BytesPerSecond, BurstSeconds, Enabled}</c>
/// (<c>Key</c> is hashed here and never stored; also <c>Origins</c>) and <c>Auth:RequireKeys</c>;</item>
/// <item><c>Cors:AllowedOrigins</c> (a list, or one comma-separated value).</item>
/// </list>
/// </summary>
public static class ConfigSeed
{
    public static ClusterConfig From(IConfiguration configuration)
    {
        var topics = new Dictionary<string, TopicSettings>(StringComparer.Ordinal);
        foreach (var section in configuration.GetSection("Ingest:Topics").GetChildren())
        {
            var settings = new TopicSettings();
            section.Bind(settings, o => o.ErrorOnUnknownConfiguration = true);
            topics[section.Key] = settings;
        }

        foreach (var section in configuration.GetSection("Ingest:Shards").GetChildren())
        {
            topics[section.Key] = (topics.GetValueOrDefault(section.Key) ?? new TopicSettings()) with { Shards = section.Get<int>() };
        }

        foreach (var section in configuration.GetSection("Kafka:Topics").GetChildren())
        {
            topics[section.Key] = (topics.GetValueOrDefault(section.Key) ?? new TopicSettings()) with { KafkaTopic = section.Value };
        }

        var mode = configuration["Ingest:TopicMode"] switch
        {
            null or "" or "open" => TopicMode.Open,
            "allowList" => TopicMode.AllowList,
            var other => throw new InvalidSettingException($"Ingest:TopicMode must be 'open' or 'allowList' (was '{other}')."),
        };

        return new ClusterConfig
        {
            Version = 0,
            TopicMode = mode,
            Topics = topics,
            Keys = configuration.GetSection("Auth:Keys").GetChildren().Select(SeedKey).ToList(),
            RequireKeys = configuration.GetValue<bool?>("Auth:RequireKeys"),
            AllowedOrigins = ListOf(configuration.GetSection("Cors:AllowedOrigins")) ?? [],
            Kafka = new KafkaSettings
            {
                BootstrapServers = string.IsNullOrWhiteSpace(configuration["Kafka:BootstrapServers"]) ? null : configuration["Kafka:BootstrapServers"]!.Trim(),
                ProducerSettings = configuration.GetSection("Kafka:ProducerSettings").GetChildren()
                    .Where(setting => setting.Value is not null)
                    .ToDictionary(setting => setting.Key, setting => setting.Value!, StringComparer.Ordinal),
            },
        };
    }

    private static ProducerKey SeedKey(IConfigurationSection section)
    {
        var key = section["Key"];
        var hash = section["KeyHash"];
        if (string.IsNullOrEmpty(key) == string.IsNullOrEmpty(hash))
        {
            throw new InvalidSettingException($"Auth:Keys:{section.Key} needs exactly one of Key (the key) and KeyHash (its SHA-256 in hex).");
        }

        var topics = section.GetSection("Topics").GetChildren().Select(topic => topic.Value!).ToList();
        return new ProducerKey
        {
            Name = section.Key,
            Hash = string.IsNullOrEmpty(key) ? hash!.ToLowerInvariant() : HashOf(key),
            Topics = topics.Count == 0 ? null : topics,
            RecordsPerSecond = section.GetValue<double?>("RecordsPerSecond"),
            BytesPerSecond = section.GetValue<double?>("BytesPerSecond"),
            BurstSeconds = section.GetValue("BurstSeconds", 1.0),
            Enabled = section.GetValue("Enabled", true),
            Origins = ListOf(section.GetSection("Origins")),
        };
    }

    /// <summary>A list setting: its children (<c>X:0</c>, <c>X:1</c>, …) or one comma-separated value; null when absent.</summary>
    private static List<string>? ListOf(IConfigurationSection section)
    {
        var items = section.Value is { } single
            ? single.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : section.GetChildren().Select(child => child.Value?.Trim() ?? "").Where(item => item.Length > 0).ToList();
        return items.Count == 0 ? null : items;
    }

    /// <summary>Lower-case hex SHA-256 of a key's UTF-8 bytes: the form keys are stored and compared in.</summary>
    public static string HashOf(ReadOnlySpan<char> key)
    {
        Span<byte> bytes = stackalloc byte[Encoding.UTF8.GetMaxByteCount(Math.Min(key.Length, 1024))];
        if (key.Length > 1024)
        {
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())));
        }

        var length = Encoding.UTF8.GetBytes(key, bytes);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(bytes[..length], hash);
        return Convert.ToHexStringLower(hash);
    }
}

/// <summary>A setting whose value cannot be used; the message names the setting, its value and what is allowed.</summary>
public sealed class InvalidSettingException(string message) : Exception(message);
