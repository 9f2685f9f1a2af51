using System.Text;
using Ingest.Records;
using Ingest.Segments;

namespace Ingest.Tests.Segments;

/// <summary>Writes real segment files through <see cref="ActiveSegment"/>, for recovery tests.</summary>
internal static class SegmentBuilder
{
    public static string Write(string directory, int records, string extension = ".active", long sequence = 1)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, SegmentFile.FileName(sequence, ".active"));
        using (var segment = ActiveSegment.Create(path, 1_700_000_000_000, fsync: false))
        {
            for (var i = 0; i < records; i++)
            {
                var value = Encoding.UTF8.GetBytes($"{{\"n\":{i}}}");
                var frame = new byte[RecordFrame.SizeOf(0, value.Length)];
                RecordFrame.Write(frame, 1_700_000_000_000 + i, [], false, value);
                segment.Append([frame], frame.Length);
            }
        }

        if (extension != ".active")
        {
            var target = Path.ChangeExtension(path, extension);
            File.Move(path, target);
            return target;
        }

        return path;
    }

    /// <summary>Offsets of each frame in a clean segment.</summary>
    public static List<long> FrameOffsets(string path)
    {
        var offsets = new List<long>();
        SegmentReader.Scan(path, (in RecordView _, long offset) => offsets.Add(offset));
        return offsets;
    }
}
