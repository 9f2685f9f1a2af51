using System.Text.Json.Serialization;

namespace Ingest.Configuration;

/// <summary>Whether any valid topic name may be written, or only the topics listed in <see cref="ClusterConfig.Topics"/>.</summary>
[GenerateSerializer, Alias("ingest.topic-mode")]
[JsonConverter(typeof(JsonStringEnumConverter<TopicMode>))]
public enum TopicMode
{
    [JsonStringEnumMemberName("open")]
    Open,

    [JsonStringEnumMemberName("allowList")]
    AllowList,
}

/// <summary>
/// The configuration the whole cluster runs on, held by the <see cref="IConfigGrain"/> and pushed to every
/// silo and frontend, which keep it in memory (<c>LiveConfig</c>). Changed only through the admin
/// API; every change increments <see cref="Version"/>. Its JSON form (camelCase) is what
/// <c>GET /v1/admin/config</c> returns and <c>PUT</c> takes, with secrets left out or redacted.
/// </summary>
[GenerateSerializer, Alias("ingest.cluster-config")]
[Immutable]
public sealed record ClusterConfig
{
    /// <summary>0 only for a node's local seed that has not yet heard from the cluster.</summary>
    [Id(0)]
    public long Version { get; init; }

    [Id(1)]
    public TopicMode TopicMode { get; init; } = TopicMode.Open;

    /// <summary>Per-topic settings; in <see cref="TopicMode.AllowList"/> mode also the topics that may be written.</summary>
    [Id(2)]
    public Dictionary<string, TopicSettings> Topics { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Producer keys. As soon as there is one (enabled or not), every ingest request needs a key.</summary>
    [Id(3)]
    public List<ProducerKey> Keys { get; init; } = [];

    [Id(4)]
    public KafkaSettings Kafka { get; init; } = new();

    /// <summary>
    /// Whether ingest requests need a producer key. Null: as soon as a key exists — and the configuration
    /// grain then sets it to true, so revoking the last key leaves the endpoints closed (every request
    /// 401) instead of silently opening them. Set false explicitly to turn keys off.
    /// </summary>
    [Id(5)]
    public bool? RequireKeys { get; init; }

    /// <summary>
    /// Web page origins (<c>https://shop.example</c>, or <c>*</c>) allowed to send from a browser (CORS). Empty: no
    /// CORS answers, as for any server. Once any origin is allowed here or on a key, a request whose
    /// <c>Origin</c> is allowed neither here nor on its key gets 403 and nothing is stored.
    /// </summary>
    [Id(6)]
    public List<string> AllowedOrigins { get; init; } = [];

    /// <summary>
    /// Silos being drained (their addresses as <c>/v1/status</c> names them): no topic is placed on them, their topics
    /// move to the others and they ship what they hold. Set by <c>POST /v1/admin/nodes/{silo}/drain</c>; a restarted
    /// silo has a new address and takes work again.
    /// </summary>
    [Id(7)]
    public List<string> DrainedSilos { get; init; } = [];

    /// <summary>Whether an ingest request without a valid key is refused.</summary>
    public bool AuthRequired => RequireKeys ?? Keys.Count > 0;

    public TopicSettings? SettingsOf(string topic) => Topics.TryGetValue(topic, out var settings) ? settings : null;

    /// <summary>The Kafka topic an ingest topic ships to: its own name unless <see cref="TopicSettings.KafkaTopic"/> says otherwise.</summary>
    public string KafkaTopicFor(string topic) => SettingsOf(topic)?.KafkaTopic ?? topic;
}

/// <summary>One topic's settings; every null falls back to the node's <c>Ingest</c> options.</summary>
[GenerateSerializer, Alias("ingest.topic-settings")]
[Immutable]
public sealed record TopicSettings
{
    /// <summary>Topic grains the topic's appends spread over (see <c>TopicShards</c>). Default 1.</summary>
    [Id(0)]
    public int Shards { get; init; } = 1;

    [Id(1)]
    public string? KafkaTopic { get; init; }

    [Id(2)]
    public long? MaxSegmentBytes { get; init; }

    [Id(3)]
    public int? RotateAfterSeconds { get; init; }

    /// <summary>Largest record (key + value) of this topic; capped by the frontend's <c>Ingest:MaxRequestBytes</c>.</summary>
    [Id(4)]
    public int? MaxRecordBytes { get; init; }
}

/// <summary>
/// A producer key. Only the SHA-256 of the key is kept (<see cref="Hash"/>, never serialized to JSON);
/// the key itself is shown once, when it is created.
/// </summary>
[GenerateSerializer, Alias("ingest.producer-key")]
[Immutable]
public sealed record ProducerKey
{
    [Id(0)]
    public string Name { get; init; } = "";

    /// <summary>Lower-case hex SHA-256 of the key's UTF-8 bytes.</summary>
    [Id(1)]
    [JsonIgnore]
    public string Hash { get; init; } = "";

    /// <summary>Topics the key may write; null = every topic the topic mode admits.</summary>
    [Id(2)]
    public List<string>? Topics { get; init; }

    [Id(3)]
    public double? RecordsPerSecond { get; init; }

    [Id(4)]
    public double? BytesPerSecond { get; init; }

    /// <summary>How many seconds of rate a key may spend at once (the token buckets' size). Default 1.</summary>
    [Id(5)]
    public double BurstSeconds { get; init; } = 1;

    [Id(6)]
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// A browser key: the page origins it may be used from. A request with it must come from one of them (its
    /// <c>Origin</c>); only such a key may be sent as <c>?apiKey=</c> (a beacon cannot set headers). Null: any.
    /// </summary>
    [Id(7)]
    public List<string>? Origins { get; init; }

    /// <summary>The first 12 hex digits of <see cref="Hash"/>: tells keys apart in the admin read, reveals nothing usable.</summary>
    [JsonPropertyOrder(1)]
    public string Fingerprint => Hash.Length >= 12 ? Hash[..12] : Hash;
}

/// <summary>Where records go. A null <see cref="BootstrapServers"/> means the silo's embedded development broker.</summary>
[GenerateSerializer, Alias("ingest.kafka-settings")]
[Immutable]
public sealed record KafkaSettings
{
    [Id(0)]
    public string? BootstrapServers { get; init; }

    /// <summary>librdkafka producer properties; values of secret ones (passwords, keys) are redacted in the admin read.</summary>
    [Id(1)]
    public Dictionary<string, string> ProducerSettings { get; init; } = new(StringComparer.Ordinal);

    /// <summary>Whether a producer built from <paramref name="other"/> would connect and behave the same as one built from this.</summary>
    public bool SameProducerAs(KafkaSettings other) =>
        string.Equals(BootstrapServers, other.BootstrapServers, StringComparison.Ordinal)
        && ProducerSettings.Count == other.ProducerSettings.Count
        && ProducerSettings.All(setting => other.ProducerSettings.TryGetValue(setting.Key, out var value) && value == setting.Value);
}
