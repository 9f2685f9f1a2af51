using System.Globalization;
using System.Text;
using Ingest.Records;
using Ingest.Segments;

namespace Ingest.Audit;

/// <summary>What one topic directory's audit file holds: the hours, and up to where each count has looked.</summary>
internal sealed class AuditState
{
    /// <summary>Every record before this position is counted as stored (accepted or recovered).</summary>
    public Checkpoint StoredThrough;

    /// <summary>Every acknowledged record before this position is counted as acknowledged.</summary>
    public Checkpoint AckedThrough;

    /// <summary>Records before this position were sent at least once.</summary>
    public Checkpoint SentThrough;

    public SortedDictionary<long, AuditRow> Hours { get; } = [];
}

/// <summary>
/// A topic directory's audit on disk: <c>audit</c>, a journal that is only appended to. Each write is one line —
/// the three positions (stored, acked, sent: <c>segment offset</c> each), then the rows that changed since the write
/// before (<c>| hour accepted recovered acked sentAgain partition:first-last …</c>), then <c># crc</c> (CRC-32C of the
/// line before it) — so a write costs one small append, not a read of the hours. Reading adds the lines up, in order,
/// to the first that does not check (a write cut short by a crash: the state is then the write before, positions
/// included, so nothing is counted twice). Past <see cref="CompactAt"/> bytes the journal is rewritten as one line
/// holding the sums (a new file renamed over the old, dropping hours past the retention). Written before the
/// checkpoint it goes with, so the acknowledged position it holds is never behind the checkpoint's.
/// </summary>
internal sealed class AuditFile(string directory)
{
    public const string FileName = "audit";

    /// <summary>The journal's size past which a write compacts it.</summary>
    public const int CompactAt = 32 * 1024;

    private readonly string _path = Path.Combine(directory, FileName);

    public string Directory => directory;

    /// <summary>The journal added up, or an empty state when there is none.</summary>
    public AuditState Load()
    {
        var state = new AuditState();
        string text;
        try
        {
            text = File.ReadAllText(_path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return state;
        }

        foreach (var line in text.Split('\n'))
        {
            if (!TryApply(line, state))
            {
                break; // a write cut short: what came before stands
            }
        }

        return state;
    }

    /// <summary>Appends the positions of <paramref name="state"/> and the rows of <paramref name="changed"/>; compacts the journal first when it has grown past <see cref="CompactAt"/>.</summary>
    public void Append(AuditState state, IReadOnlyDictionary<long, AuditRow> changed, long oldestHour, bool fsync)
    {
        var created = !File.Exists(_path);
        if (!created && new FileInfo(_path).Length > CompactAt)
        {
            Compact(state, changed, oldestHour, fsync);
            return;
        }

        var line = Encoding.ASCII.GetBytes(Line(state, changed));
        using (var handle = File.OpenHandle(_path, FileMode.Append, FileAccess.Write, FileShare.Read))
        {
            RandomAccess.Write(handle, line, RandomAccess.GetLength(handle));
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

    /// <summary>Rewrites the journal as one line: what it holds plus <paramref name="changed"/>, without hours before <paramref name="oldestHour"/>.</summary>
    private void Compact(AuditState positions, IReadOnlyDictionary<long, AuditRow> changed, long oldestHour, bool fsync)
    {
        var state = Load();
        foreach (var (hour, row) in changed)
        {
            AuditRow.AddTo(state.Hours, hour, row);
        }

        foreach (var hour in state.Hours.Keys.TakeWhile(h => h < oldestHour).ToList())
        {
            state.Hours.Remove(hour);
        }

        state.StoredThrough = positions.StoredThrough;
        state.AckedThrough = positions.AckedThrough;
        state.SentThrough = positions.SentThrough;
        var temporary = _path + ".tmp";
        using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(handle, Encoding.ASCII.GetBytes(Line(state, state.Hours)), 0);
            if (fsync)
            {
                RandomAccess.FlushToDisk(handle);
            }
        }

        File.Move(temporary, _path, overwrite: true);
        if (fsync)
        {
            DirectorySync.Fsync(directory);
        }
    }

    private static string Line(AuditState state, IReadOnlyDictionary<long, AuditRow> rows)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{state.StoredThrough.Segment} {state.StoredThrough.Offset} {state.AckedThrough.Segment} {state.AckedThrough.Offset} {state.SentThrough.Segment} {state.SentThrough.Offset}");
        foreach (var (hour, row) in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $" | {hour} {row.Accepted} {row.Recovered} {row.Acked} {row.SentAgain}");
            foreach (var range in row.Ranges ?? [])
            {
                text.Append(CultureInfo.InvariantCulture, $" {range.Partition}:{range.First}-{range.Last}");
            }
        }

        var body = text.ToString();
        return string.Create(CultureInfo.InvariantCulture, $"{body} # {Crc(Encoding.ASCII.GetBytes(body)):x8}\n");
    }

    /// <summary>Adds one journal line to <paramref name="state"/>; false (and nothing changed) when it does not check.</summary>
    private static bool TryApply(string line, AuditState state)
    {
        var hash = line.LastIndexOf(" # ", StringComparison.Ordinal);
        if (hash < 0 || !uint.TryParse(line.AsSpan(hash + 3), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var crc)
            || crc != Crc(Encoding.ASCII.GetBytes(line[..hash])))
        {
            return false;
        }

        var parts = line[..hash].Split(" | ");
        var positions = parts[0].Split(' ');
        if (positions.Length != 6 || !positions.All(p => long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return false;
        }

        long P(int i) => long.Parse(positions[i], CultureInfo.InvariantCulture);
        state.StoredThrough = new Checkpoint(P(0), P(1));
        state.AckedThrough = new Checkpoint(P(2), P(3));
        state.SentThrough = new Checkpoint(P(4), P(5));
        foreach (var item in parts.AsSpan(1))
        {
            var fields = item.Split(' ');
            var row = new AuditRow
            {
                Accepted = long.Parse(fields[1], CultureInfo.InvariantCulture),
                Recovered = long.Parse(fields[2], CultureInfo.InvariantCulture),
                Acked = long.Parse(fields[3], CultureInfo.InvariantCulture),
                SentAgain = long.Parse(fields[4], CultureInfo.InvariantCulture),
            };
            foreach (var range in fields.AsSpan(5))
            {
                var colon = range.IndexOf(':');
                var dash = range.IndexOf('-', colon + 1);
                (row.Ranges ??= []).Add(new PartitionRange(
                    int.Parse(range.AsSpan(0, colon), CultureInfo.InvariantCulture),
                    long.Parse(range.AsSpan(colon + 1, dash - colon - 1), CultureInfo.InvariantCulture),
                    long.Parse(range.AsSpan(dash + 1), CultureInfo.InvariantCulture)));
            }

            AuditRow.AddTo(state.Hours, long.Parse(fields[0], CultureInfo.InvariantCulture), row);
        }

        return true;
    }

    private static uint Crc(ReadOnlySpan<byte> bytes) => Crc32C.Finish(Crc32C.Append(Crc32C.Seed, bytes));
}
