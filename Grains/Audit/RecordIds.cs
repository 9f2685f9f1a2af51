using System.Buffers.Text;
using System.Security.Cryptography;
using Ingest.Segments;

namespace Ingest.Audit;

/// <summary>
/// Every record Ingest sends carries an <c>ingest-id</c> Kafka header naming where it is stored:
/// <c>&lt;node&gt;-&lt;shard&gt;-&lt;segment&gt;-&lt;end offset&gt;</c>, the node being the data directory's own random
/// identity (<c>.node-id</c>, made at its first start). Every copy of a record — a resend after a failed
/// delivery or a crash, a replay — carries the same id, so <c>audit verify</c> (and any consumer) tells a
/// record from its copies.
/// </summary>
internal static class RecordIds
{
    /// <summary>In the data directory, hidden like its lock file.</summary>
    public const string NodeIdFileName = ".node-id";

    /// <summary>The data directory's identity: read from <c>.node-id</c>, or made (16 hex digits) and written once.</summary>
    public static string LoadOrCreateNodeId(string root, bool fsync)
    {
        var path = Path.Combine(root, NodeIdFileName);
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: 16 } existing)
        {
            return existing;
        }

        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, id + "\n");
        File.Move(temporary, path, overwrite: true);
        if (fsync)
        {
            DirectorySync.Fsync(root);
        }

        return id;
    }

    /// <summary>The id's prefix for the records of one topic directory: node and shard.</summary>
    public static string PrefixOf(string nodeId, int shard) => string.Concat(nodeId, "-", shard.ToString(System.Globalization.CultureInfo.InvariantCulture), "-");
}

/// <summary>
/// The ids of one topic log's records: a topic directory's records are named by its own shard and segment
/// numbers; a replay's links are renumbered, so each is named by the archived segment it links to (its
/// copies carry the ids of the originals).
/// </summary>
internal sealed class RecordIdentity
{
    private readonly string _nodeId;
    private readonly Func<long, (int Shard, long Segment)> _origin;
    private readonly int _shard;
    private long _segment = -1;
    private byte[] _segmentPrefix = [];

    private RecordIdentity(string nodeId, Func<long, (int Shard, long Segment)> origin, int shard)
    {
        _nodeId = nodeId;
        _origin = origin;
        _shard = shard;
    }

    /// <summary>The records of a topic or shard directory.</summary>
    public static RecordIdentity Of(string nodeId, string topicKey) =>
        new(nodeId, null!, Topics.TopicShards.TryParse(topicKey, out _, out var shard) ? shard : 0);

    /// <summary>The records of a replay: link <c>n</c> is the archived segment <paramref name="sources"/>[n - 1].</summary>
    public static RecordIdentity OfReplay(string nodeId, IReadOnlyList<string> sources) =>
        new(nodeId, link => OriginOf(sources, link), 0);

    /// <summary>The id of the record of <paramref name="segment"/> ending at <paramref name="end"/>: one allocation, the bytes up to the offset made once per segment.</summary>
    public byte[] Of(long segment, long end)
    {
        if (segment != _segment)
        {
            var (shard, original) = _origin is null ? (_shard, segment) : _origin(segment);
            _segmentPrefix = System.Text.Encoding.ASCII.GetBytes(string.Concat(RecordIds.PrefixOf(_nodeId, shard), original.ToString(System.Globalization.CultureInfo.InvariantCulture), "-"));
            _segment = segment;
        }

        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(end, digits, out var written);
        var id = new byte[_segmentPrefix.Length + written];
        _segmentPrefix.CopyTo(id, 0);
        digits[..written].CopyTo(id.AsSpan(_segmentPrefix.Length));
        return id;
    }

    /// <summary>Shard and sequence of an archived segment (<c>archive/&lt;day&gt;/&lt;topic key&gt;/&lt;sequence&gt;.seg</c>).</summary>
    private static (int Shard, long Segment) OriginOf(IReadOnlyList<string> sources, long link)
    {
        if (link < 1 || link > sources.Count)
        {
            return (0, link);
        }

        var source = sources[(int)link - 1];
        var key = Path.GetFileName(Path.GetDirectoryName(source)) ?? string.Empty;
        return (Topics.TopicShards.TryParse(key, out _, out var shard) ? shard : 0, SegmentFile.SequenceOf(source));
    }
}
