using System.Text;

namespace Ingest.Segments;

/// <summary>Parses one of a <see cref="FilePair"/>'s files: false when it does not read (a write cut short).</summary>
internal delegate bool FilePairParser<T>(string text, out T value, out long sequence);

/// <summary>
/// Two files, <c>name</c> and <c>name.1</c>, written in turn, each with a sequence number (and a check the
/// parser makes): the newest one that reads is the current content, so a write cut short by a crash leaves
/// the other, one write older. Files are written over in place, never created or renamed per write.
/// Used by the checkpoint and the audit.
/// </summary>
internal sealed class FilePair(string directory, string name)
{
    private readonly string[] _names = [name, name + ".1"];

    /// <summary>The sequence of the newest file read or written.</summary>
    public long Sequence { get; private set; }

    /// <summary>The newest readable content, or false (and <paramref name="unreadable"/> when a file exists but neither reads).</summary>
    public bool TryLoad<T>(FilePairParser<T> parse, out T value, out bool unreadable)
    {
        value = default!;
        var newestSequence = -1L;
        var found = false;
        foreach (var file in _names)
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(directory, file));
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                continue;
            }

            found = true;
            if (parse(text, out var parsed, out var sequence) && sequence > newestSequence)
            {
                value = parsed;
                newestSequence = sequence;
            }
        }

        Sequence = Math.Max(Sequence, newestSequence);
        unreadable = found && newestSequence < 0;
        return newestSequence >= 0;
    }

    /// <summary>Writes what <paramref name="content"/> makes of the next sequence over the older file (and fsyncs it, and the directory when the file is new, under Fsync).</summary>
    public void Write(Func<long, string> content, bool fsync)
    {
        var sequence = ++Sequence;
        var bytes = Encoding.ASCII.GetBytes(content(sequence));
        var path = Path.Combine(directory, _names[sequence % 2]);
        var created = !File.Exists(path);
        using (var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read))
        {
            RandomAccess.Write(handle, bytes, 0);
            if (RandomAccess.GetLength(handle) > bytes.Length)
            {
                RandomAccess.SetLength(handle, bytes.Length);
            }

            if (fsync)
            {
                RandomAccess.FlushToDisk(handle);
            }
        }

        if (fsync && created)
        {
            DirectorySync.Fsync(directory);
        }
    }
}
