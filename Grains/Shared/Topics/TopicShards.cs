using System.Globalization;
using Ingest.Records;

namespace Ingest.Topics;

/// <summary>
/// A hot topic can be split into N shards (<c>Ingest:Shards:&lt;topic&gt;</c>), each its own topic grain,
/// segment directory and shipper, so one topic's appends spread over silos. The grain key (and directory
/// name) of shard 0 is the topic itself; shard n &gt; 0 is <c>topic#n</c> — <c>#</c> is not allowed in topic
/// names, so a key always names exactly one topic and shard. Every shard ships to the same Kafka topic.
/// Keyed records go to the shard of their key (a hash every frontend computes alike), so per-key order
/// holds; unkeyed requests are spread over the shards.
/// </summary>
public static class TopicShards
{
    public const char Separator = '#';
    public const int MaxShards = 256;

    public static string GrainKey(string topic, int shard) =>
        shard == 0 ? topic : string.Concat(topic, "#", shard.ToString(CultureInfo.InvariantCulture));

    /// <summary>Splits a grain key (or a segment directory's name) into topic and shard; false if it is neither.</summary>
    public static bool TryParse(string key, out string topic, out int shard)
    {
        var separator = key.IndexOf(Separator);
        topic = separator < 0 ? key : key[..separator];
        shard = 0;
        if (!TopicName.IsValid(topic))
        {
            return false;
        }

        if (separator < 0)
        {
            return true;
        }

        var digits = key.AsSpan(separator + 1);
        return digits.Length is > 0 and <= 3 && digits[0] != '0'
            && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out shard) && shard < MaxShards;
    }

    /// <summary>The topic a grain key belongs to (the key itself when it is not a shard key).</summary>
    public static string TopicOf(string key) => TryParse(key, out var topic, out _) ? topic : key;

    /// <summary>The shard of a record key: CRC-32C of its bytes modulo the shard count, the same in every process.</summary>
    public static int ShardOf(ReadOnlySpan<byte> recordKey, int shards) =>
        shards <= 1 ? 0 : (int)(Crc32C.Compute(recordKey) % (uint)shards);
}
