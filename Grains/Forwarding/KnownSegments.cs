using Ingest.Segments;

namespace Ingest.Forwarding;

/// <summary>
/// The segments of one topic directory that are not retired yet, as the forwarder knows them: read
/// from the directory once, then kept up to date by the topic grain's signals (appended to, sealed),
/// so that status and shipping need no directory listing. Thread-safe.
/// </summary>
internal sealed class KnownSegments(string directory)
{
    private readonly Lock _gate = new();
    private readonly SortedList<long, Entry> _entries = [];

    /// <summary>Replaces what is known with what the directory holds now.</summary>
    public void Reload()
    {
        var found = new SortedList<long, Entry>();
        if (Directory.Exists(directory))
        {
            foreach (var path in Directory.EnumerateFiles(directory))
            {
                var sequence = SegmentFile.SequenceOf(path);
                if (sequence >= 0)
                {
                    found[sequence] = new Entry(SegmentFile.LengthOrZero(path), path.EndsWith(SegmentFile.SealedExtension, StringComparison.Ordinal));
                }
            }
        }

        lock (_gate)
        {
            _entries.Clear();
            foreach (var (sequence, entry) in found)
            {
                _entries[sequence] = entry;
            }
        }
    }

    /// <summary>The topic grain wrote up to <paramref name="length"/> bytes of segment <paramref name="sequence"/>.</summary>
    public void Appended(long sequence, long length)
    {
        lock (_gate)
        {
            var sealedAlready = _entries.TryGetValue(sequence, out var known) && known.Sealed;
            _entries[sequence] = new Entry(Math.Max(length, known.Length), sealedAlready);
        }
    }

    /// <summary>Segment <paramref name="sequence"/> is sealed at <paramref name="length"/> bytes: its bytes are final.</summary>
    public void Sealed(long sequence, long length)
    {
        lock (_gate)
        {
            _entries[sequence] = new Entry(length, true);
        }
    }

    public void Retired(long sequence)
    {
        lock (_gate)
        {
            _entries.Remove(sequence);
        }
    }

    public bool IsSealed(long sequence)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(sequence, out var entry) && entry.Sealed;
        }
    }

    /// <summary>The first known segment at or after <paramref name="sequence"/>, or null.</summary>
    public (long Sequence, bool Sealed)? FirstFrom(long sequence)
    {
        lock (_gate)
        {
            foreach (var (known, entry) in _entries)
            {
                if (known >= sequence)
                {
                    return (known, entry.Sealed);
                }
            }

            return null;
        }
    }

    /// <summary>Sealed segments below <paramref name="sequence"/> (shipped, not yet retired: a crash came between the checkpoint and the retirement).</summary>
    public List<long> SealedBelow(long sequence)
    {
        lock (_gate)
        {
            return [.. _entries.Where(e => e.Key < sequence && e.Value.Sealed).Select(e => e.Key)];
        }
    }

    public IReadOnlyList<long> Sequences()
    {
        lock (_gate)
        {
            return [.. _entries.Keys];
        }
    }

    public long? Oldest
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count > 0 ? _entries.Keys[0] : null;
            }
        }
    }

    /// <summary>Bytes of records at or after <paramref name="acked"/>: what Kafka has not acknowledged.</summary>
    public long UnshippedBytes(Checkpoint acked)
    {
        lock (_gate)
        {
            long bytes = 0;
            foreach (var (sequence, entry) in _entries)
            {
                if (sequence >= acked.Segment)
                {
                    var start = sequence == acked.Segment ? Math.Max(acked.Offset, SegmentFile.HeaderSize) : SegmentFile.HeaderSize;
                    bytes += Math.Max(0, entry.Length - start);
                }
            }

            return bytes;
        }
    }

    public string PathOf(long sequence, bool sealedFile) =>
        Path.Combine(directory, SegmentFile.FileName(sequence, sealedFile ? SegmentFile.SealedExtension : SegmentFile.ActiveExtension));

    private readonly record struct Entry(long Length, bool Sealed);
}
