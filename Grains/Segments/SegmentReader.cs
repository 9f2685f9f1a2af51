using System.Buffers;
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

/// <summary>Reads segment files sequentially. Read-only: it never changes a file.</summary>
public static class SegmentReader
{
    /// <summary>Chunk size for sequential reads: large enough to amortise syscalls, small enough to stay in cache.</summary>
    private const int ChunkSize = 1 << 20;

    public static ScanResult Scan(string path, RecordVisitor? visitor = null)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
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

        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            long position = SegmentFile.HeaderSize;
            long records = 0;
            while (true)
            {
                var read = RandomAccess.Read(handle, buffer, position);
                if (read == 0)
                {
                    return new ScanResult(ScanEnd.Clean, position, fileLength, records);
                }

                var window = buffer.AsSpan(0, read);
                var consumed = 0;
                FrameStatus status;
                while (true)
                {
                    status = RecordFrame.TryRead(window[consumed..], out var record, out var size);
                    if (status != FrameStatus.Ok)
                    {
                        break;
                    }

                    visitor?.Invoke(record, position + consumed);
                    consumed += size;
                    records++;
                }

                var reachedEnd = position + read >= fileLength;
                if (status == FrameStatus.Corrupt)
                {
                    return new ScanResult(ScanEnd.Corrupt, position + consumed, fileLength, records);
                }

                if (consumed == read && reachedEnd)
                {
                    return new ScanResult(ScanEnd.Clean, position + consumed, fileLength, records);
                }

                if (reachedEnd)
                {
                    // The bytes end inside a frame whose length is plausible: torn.
                    return new ScanResult(ScanEnd.TornTail, position + consumed, fileLength, records);
                }

                if (consumed == 0)
                {
                    // One frame larger than the buffer: grow to hold it (its length was checked against
                    // RecordFrame.MaxBodyLength, so this is bounded).
                    var needed = RecordFrame.HeaderSize + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(window);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(needed);
                }

                position += consumed;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
