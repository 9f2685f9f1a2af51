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
/// A topic directory's audit on disk: two files, <c>audit</c> and <c>audit.1</c>, written in turn, like the
/// checkpoint. Text, one line per item: <c>audit 1 &lt;sequence&gt;</c>, the three positions (<c>stored</c>,
/// <c>acked</c>, <c>sent</c> <c>segment offset</c>), then one line per hour
/// (<c>&lt;hour&gt; accepted recovered acked sentAgain partition:first-last …</c>) and last <c>crc</c> with the
/// CRC-32C of everything before it. A write cut short by a crash fails its CRC and the other file, one
/// write older, is read: its positions are as old as its counts, so nothing is counted twice. Written
/// before the checkpoint it goes with, so the acknowledged position it holds is never behind the checkpoint's.
/// </summary>
internal sealed class AuditFile(string directory)
{
    public const string FileName = "audit";

    private readonly FilePair _files = new(directory, FileName);

    public string Directory => directory;

    /// <summary>The newest readable state of the two files, or an empty one.</summary>
    public AuditState Load() => _files.TryLoad<AuditState>(TryParse, out var state, out _) ? state : new AuditState();

    public void Save(AuditState state, bool fsync) => _files.Write(sequence => Text(state, sequence), fsync);

    private static string Text(AuditState state, long sequence)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"audit 1 {sequence}\n");
        Position(text, "stored", state.StoredThrough);
        Position(text, "acked", state.AckedThrough);
        Position(text, "sent", state.SentThrough);
        foreach (var (hour, row) in state.Hours)
        {
            text.Append(CultureInfo.InvariantCulture, $"{hour} {row.Accepted} {row.Recovered} {row.Acked} {row.SentAgain}");
            foreach (var range in row.Ranges ?? [])
            {
                text.Append(CultureInfo.InvariantCulture, $" {range.Partition}:{range.First}-{range.Last}");
            }

            text.Append('\n');
        }

        var body = text.ToString();
        return body + string.Create(CultureInfo.InvariantCulture, $"crc {Crc(Encoding.ASCII.GetBytes(body)):x8}\n");
    }

    private static void Position(StringBuilder text, string name, Checkpoint position) =>
        text.Append(CultureInfo.InvariantCulture, $"{name} {position.Segment} {position.Offset}\n");

    private static bool TryParse(string text, out AuditState state, out long sequence)
    {
        state = new AuditState();
        sequence = -1;
        var crcAt = text.LastIndexOf("crc ", StringComparison.Ordinal);
        if (crcAt < 0 || (crcAt > 0 && text[crcAt - 1] != '\n')
            || !uint.TryParse(text.AsSpan(crcAt + 4).TrimEnd('\n'), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var crc)
            || crc != Crc(Encoding.ASCII.GetBytes(text[..crcAt])))
        {
            return false;
        }

        var lines = text[..crcAt].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length < 4)
        {
            return false;
        }

        var head = lines[0].Split(' ');
        if (head is not ["audit", "1", var number] || !long.TryParse(number, CultureInfo.InvariantCulture, out sequence)
            || !TryPosition(lines[1], "stored", out state.StoredThrough)
            || !TryPosition(lines[2], "acked", out state.AckedThrough)
            || !TryPosition(lines[3], "sent", out state.SentThrough))
        {
            return false;
        }

        foreach (var line in lines.AsSpan(4))
        {
            var parts = line.Split(' ');
            if (parts.Length < 5)
            {
                return false;
            }

            var row = new AuditRow
            {
                Accepted = long.Parse(parts[1], CultureInfo.InvariantCulture),
                Recovered = long.Parse(parts[2], CultureInfo.InvariantCulture),
                Acked = long.Parse(parts[3], CultureInfo.InvariantCulture),
                SentAgain = long.Parse(parts[4], CultureInfo.InvariantCulture),
            };
            foreach (var range in parts.AsSpan(5))
            {
                var colon = range.IndexOf(':');
                var dash = range.IndexOf('-', colon + 1);
                (row.Ranges ??= []).Add(new PartitionRange(
                    int.Parse(range.AsSpan(0, colon), CultureInfo.InvariantCulture),
                    long.Parse(range.AsSpan(colon + 1, dash - colon - 1), CultureInfo.InvariantCulture),
                    long.Parse(range.AsSpan(dash + 1), CultureInfo.InvariantCulture)));
            }

            state.Hours[long.Parse(parts[0], CultureInfo.InvariantCulture)] = row;
        }

        return true;
    }

    private static bool TryPosition(string line, string name, out Checkpoint position)
    {
        position = default;
        var parts = line.Split(' ');
        if (parts.Length != 3 || parts[0] != name
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var segment)
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return false;
        }

        position = new Checkpoint(segment, offset);
        return true;
    }

    private static uint Crc(ReadOnlySpan<byte> bytes) => Crc32C.Finish(Crc32C.Append(Crc32C.Seed, bytes));
}
