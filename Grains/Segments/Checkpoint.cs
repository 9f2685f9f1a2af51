using System.Globalization;
using System.Text;
using Ingest.Records;

namespace Ingest.Segments;

/// <summary>
/// How far a topic's records are acknowledged by Kafka on this node: every record of every segment
/// numbered below <see cref="Segment"/>, and of segment <see cref="Segment"/> every record before
/// byte <see cref="Offset"/>. It only moves forward, and it is written after the delivery reports it
/// covers (see <see cref="CheckpointFile"/> for how it is stored).
/// </summary>
public readonly record struct Checkpoint(long Segment, long Offset) : IComparable<Checkpoint>
{
    /// <summary>The first of the two files a checkpoint alternates between (the second is <c>checkpoint.1</c>).</summary>
    public const string FileName = "checkpoint";

    public int CompareTo(Checkpoint other) =>
        Segment != other.Segment ? Segment.CompareTo(other.Segment) : Offset.CompareTo(other.Offset);

    /// <summary>
    /// The saved checkpoint, or null when there is none or none can be read (a file emptied by power
    /// loss before it reached the disk): the caller then ships from the oldest segment again, which
    /// duplicates but never loses.
    /// </summary>
    public static Checkpoint? Load(string topicDirectory) => Load(topicDirectory, out _);

    public static Checkpoint? Load(string topicDirectory, out bool unreadable) =>
        new CheckpointFile(topicDirectory).Load(out unreadable);

    /// <summary>Writes this checkpoint to <paramref name="topicDirectory"/> (tools and tests; the forwarder keeps a <see cref="CheckpointFile"/>).</summary>
    public void Save(string topicDirectory, bool fsync)
    {
        var file = new CheckpointFile(topicDirectory);
        file.Load(out _);
        file.Save(this, fsync);
    }

    public override string ToString() => $"{Segment}:{Offset}";
}

/// <summary>
/// A topic's checkpoint on disk: two files, <c>checkpoint</c> and <c>checkpoint.1</c>, written in turn.
/// Each holds one line, <c>segment offset sequence crc</c> (CRC-32C of the first three, in hex), padded to
/// a fixed length and written over the old content in place: no file is created or renamed per write
/// (creating one was a fifth of a trickling silo's CPU, measured). A write cut short by a crash leaves a
/// line whose CRC fails, and the other file, one write older, is used: the position may go back by one
/// write (records sent again), never forward past what was acknowledged. A file of the older format
/// (<c>segment offset</c>) still reads, as sequence 0.
/// </summary>
public sealed class CheckpointFile(string topicDirectory)
{
    private const int LineLength = 80;

    private readonly FilePair _files = new(topicDirectory, Checkpoint.FileName);

    /// <summary>The newest readable checkpoint of the two files, or null (and <paramref name="unreadable"/> if a file exists but neither reads).</summary>
    public Checkpoint? Load(out bool unreadable) =>
        _files.TryLoad<Checkpoint>(TryParse, out var checkpoint, out unreadable) ? checkpoint : null;

    /// <summary>Writes <paramref name="checkpoint"/> over the older of the two files (and fsyncs it, and the directory when a file is new, under Fsync durability).</summary>
    public void Save(Checkpoint checkpoint, bool fsync) =>
        _files.Write(
            sequence =>
            {
                var body = string.Create(CultureInfo.InvariantCulture, $"{checkpoint.Segment} {checkpoint.Offset} {sequence}");
                return $"{body} {Crc(body):x8}".PadRight(LineLength - 1) + "\n";
            },
            fsync);

    private static bool TryParse(string text, out Checkpoint checkpoint, out long sequence)
    {
        checkpoint = default;
        sequence = -1;
        var parts = text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is not (2 or 4)
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var segment)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return false;
        }

        if (parts.Length == 2)
        {
            sequence = 0; // the older, single-file format
        }
        else if (!long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out sequence)
                 || !uint.TryParse(parts[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var crc)
                 || crc != Crc($"{parts[0]} {parts[1]} {parts[2]}"))
        {
            return false;
        }

        checkpoint = new Checkpoint(segment, offset);
        return true;
    }

    private static uint Crc(string text) => Crc32C.Finish(Crc32C.Append(Crc32C.Seed, Encoding.ASCII.GetBytes(text)));
}
