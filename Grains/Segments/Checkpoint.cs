using System.Globalization;

namespace Ingest.Segments;

/// <summary>
/// How far a topic's records are acknowledged by Kafka on this node: every record of every segment
/// numbered below <see cref="Segment"/>, and of segment <see cref="Segment"/> every record before
/// byte <see cref="Offset"/>. Stored in <c>segments/&lt;topic&gt;/checkpoint</c> as text
/// ("segment offset"), replaced atomically (write a temporary file, then rename). It only moves forward,
/// and it is written after the delivery reports it covers.
/// </summary>
public readonly record struct Checkpoint(long Segment, long Offset) : IComparable<Checkpoint>
{
    public const string FileName = "checkpoint";

    public int CompareTo(Checkpoint other) =>
        Segment != other.Segment ? Segment.CompareTo(other.Segment) : Offset.CompareTo(other.Offset);

    /// <summary>
    /// The saved checkpoint, or null when there is none or it cannot be read (a file emptied by power
    /// loss before it reached the disk): the caller then ships from the oldest segment again, which
    /// duplicates but never loses.
    /// </summary>
    public static Checkpoint? Load(string topicDirectory) => Load(topicDirectory, out _);

    public static Checkpoint? Load(string topicDirectory, out bool unreadable)
    {
        unreadable = false;
        var path = Path.Combine(topicDirectory, FileName);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }

        var parts = text.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var segment)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return new Checkpoint(segment, offset);
        }

        unreadable = true;
        return null;
    }

    public void Save(string topicDirectory, bool fsync)
    {
        var path = Path.Combine(topicDirectory, FileName);
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Segment} {Offset}\n")));
            stream.Flush(flushToDisk: fsync);
        }

        File.Move(temporary, path, overwrite: true);
        if (fsync)
        {
            DirectorySync.Fsync(topicDirectory);
        }
    }

    public override string ToString() => $"{Segment}:{Offset}";
}
