using Ingest.Records;
using Microsoft.Win32.SafeHandles;

namespace Ingest.Segments;

/// <summary>How a scan of a segment ended.</summary>
public enum ScanEnd
{
    /// <summary>Every byte after the header is a valid frame.</summary>
    Clean,

    /// <summary>The last frame runs past the end of the file: a write that never completed.</summary>
    TornTail,

    /// <summary>A frame with an impossible length or a wrong CRC, with bytes after its start.</summary>
    Corrupt,

    /// <summary>The file is shorter than a header or does not start with the segment magic.</summary>
    BadHeader,
}

/// <summary>The result of reading a segment from its header to the first frame that is not valid.</summary>
/// <param name="ValidLength">Bytes from the start of the file up to the end of the last valid frame.</param>
public readonly record struct ScanResult(ScanEnd End, long ValidLength, long FileLength, long Records)
{
    public long InvalidBytes => FileLength - ValidLength;
}

/// <summary>Called for each valid record, with the offset of its frame in the file.</summary>
public delegate void RecordVisitor(in RecordView record, long offset);

/// <summary>Checks a whole segment, header to end, through a <see cref="SegmentCursor"/>. Read-only: it never changes a file.</summary>
public static class SegmentReader
{
    public static ScanResult Scan(string path, RecordVisitor? visitor = null)
    {
        using var handle = SegmentCursor.OpenRead(path);
        return Scan(handle, visitor);
    }

    public static ScanResult Scan(SafeFileHandle handle, RecordVisitor? visitor = null)
    {
        var fileLength = RandomAccess.GetLength(handle);
        Span<byte> header = stackalloc byte[SegmentFile.HeaderSize];
        if (fileLength < SegmentFile.HeaderSize
            || RandomAccess.Read(handle, header, 0) < SegmentFile.HeaderSize
            || !SegmentFile.IsValidHeader(header))
        {
            return new ScanResult(ScanEnd.BadHeader, 0, fileLength, 0);
        }

        using var cursor = new SegmentCursor(handle, SegmentFile.HeaderSize);
        long records = 0;
        while (true)
        {
            var offset = cursor.Position;
            switch (cursor.Next(out var record, out _))
            {
                case CursorStep.Record:
                    visitor?.Invoke(record, offset);
                    records++;
                    break;
                case CursorStep.Corrupt:
                    return new ScanResult(ScanEnd.Corrupt, offset, fileLength, records);
                default:
                    // The bytes end here (clean) or inside a frame whose length is plausible (torn).
                    // (A segment still being appended may have grown since its length was read.)
                    return offset >= fileLength
                        ? new ScanResult(ScanEnd.Clean, offset, offset, records)
                        : new ScanResult(ScanEnd.TornTail, offset, fileLength, records);
            }
        }
    }
}
