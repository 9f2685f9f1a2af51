using System.Runtime.InteropServices;
using System.Text.Json;
using Ingest.Records;
using Ingest.Segments;
using Ingest.Topics;

namespace Ingest.Replay;

/// <summary>
/// One replay on this silo, persisted in <c>&lt;data&gt;/replay/&lt;id&gt;/</c>: <c>job.json</c> (what to ship
/// and how many records each segment holds in the window), a hard link to each archived segment it
/// ships (so retention can delete the archive meanwhile), and the shipper's <c>checkpoint</c>. A replay
/// shipper deletes each link once Kafka acknowledged the segment's records; the job is done when none
/// is left. Everything needed to resume after a restart is on disk.
/// </summary>
internal sealed partial class ReplayJob
{
    public const string DirectoryName = "replay";
    private const string JobFileName = "job.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private ReplayJob(string directory, ReplayJobFile file)
    {
        Directory = directory;
        File = file;
    }

    public string Directory { get; }

    public ReplayJobFile File { get; private set; }

    public bool IsDone => File.State == ReplayState.Done;

    /// <summary>Links the archived segments that hold records in the window and writes the job file last (its presence marks the job complete).</summary>
    public static ReplayJob Create(string replayRoot, ReplayRequest request, string kafkaTopic, IReadOnlyList<string> archived, long nowMs, bool fsync)
    {
        var directory = Path.Combine(replayRoot, request.Id);
        System.IO.Directory.CreateDirectory(directory);
        var segments = new List<ReplaySegment>();
        foreach (var path in archived)
        {
            var records = CountInWindow(path, request.FromMs, request.ToMs, long.MaxValue);
            if (records == 0)
            {
                continue;
            }

            // Renumbered 1..n in the given order: segments of different shards share sequence numbers.
            var name = SegmentFile.FileName(segments.Count + 1, SegmentFile.SealedExtension);
            LinkOrCopy(path, Path.Combine(directory, name));
            segments.Add(new ReplaySegment(name, records, path));
        }

        var file = new ReplayJobFile(request.Id, request.Topic, kafkaTopic, request.FromMs, request.ToMs, nowMs, segments, ReplayState.Running);
        var job = new ReplayJob(directory, file);
        job.Save(fsync);
        return job;
    }

    /// <summary>The job in <paramref name="directory"/>, or null if it holds no complete job file.</summary>
    public static ReplayJob? Load(string directory)
    {
        var path = Path.Combine(directory, JobFileName);
        try
        {
            var file = JsonSerializer.Deserialize<ReplayJobFile>(System.IO.File.ReadAllBytes(path), Json);
            return file is null ? null : new ReplayJob(directory, file);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    public void MarkDone(bool fsync)
    {
        File = File with { State = ReplayState.Done };
        Save(fsync);
    }

    /// <summary>Progress from what is on disk: segments whose link is gone are done; the current one up to its checkpoint.</summary>
    public ReplayStatus Status()
    {
        long done = 0;
        if (IsDone)
        {
            done = File.TotalRecords;
        }
        else
        {
            var checkpoint = Checkpoint.Load(Directory);
            foreach (var segment in File.Segments)
            {
                var path = Path.Combine(Directory, segment.Name);
                var sequence = SegmentFile.SequenceOf(path);
                if (!System.IO.File.Exists(path) || (checkpoint is { } passed && sequence < passed.Segment))
                {
                    done += segment.Records;
                }
                else if (checkpoint is { } current && sequence == current.Segment)
                {
                    done += CountInWindow(path, File.FromMs, File.ToMs, current.Offset);
                }
            }
        }

        return new ReplayStatus(File.Id, File.Topic, File.FromMs, File.ToMs, File.State, File.Segments.Count, File.TotalRecords, done, File.KafkaTopic);
    }

    private void Save(bool fsync)
    {
        var path = Path.Combine(Directory, JobFileName);
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(stream, File, Json);
            if (fsync)
            {
                stream.Flush(flushToDisk: true);
            }
        }

        System.IO.File.Move(temporary, path, overwrite: true);
        if (fsync)
        {
            DirectorySync.Fsync(Directory);
        }
    }

    // Records of the segment with ingest time in [from, to) that start before byte `before`.
    private static long CountInWindow(string path, long fromMs, long toMs, long before)
    {
        long count = 0;
        SegmentReader.Scan(path, (in RecordView record, long offset) =>
        {
            if (offset < before && record.TimestampMs >= fromMs && record.TimestampMs < toMs)
            {
                count++;
            }
        });
        return count;
    }

    private static void LinkOrCopy(string source, string link)
    {
        if (System.IO.File.Exists(link))
        {
            return;
        }

        // A hard link costs no space while the archive keeps the file; another file system needs a copy.
        if (Link(source, link) != 0)
        {
            System.IO.File.Copy(source, link);
        }
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Link(string existing, string created);
}

/// <param name="Name">The link's name in the job directory.</param>
/// <param name="Source">The archived segment it links to (for operators).</param>
internal sealed record ReplaySegment(string Name, long Records, string Source);

internal sealed record ReplayJobFile(
    string Id,
    string Topic,
    string KafkaTopic,
    long FromMs,
    long ToMs,
    long CreatedMs,
    IReadOnlyList<ReplaySegment> Segments,
    ReplayState State)
{
    public long TotalRecords => Segments.Sum(s => s.Records);
}
