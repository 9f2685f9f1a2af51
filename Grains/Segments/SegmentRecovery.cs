using System.Buffers;
using Ingest.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Ingest.Segments;

/// <summary>What recovery did to one segment.</summary>
public readonly record struct RecoveryReport(string Path, ScanResult Scan, string? QuarantinePath)
{
    public bool Changed => Scan.End != ScanEnd.Clean;
}

/// <summary>
/// Makes a segment left open by a crash consistent again (README.md invariant 4): a torn tail is
/// truncated; corruption cuts the segment before the bad frame and keeps the cut bytes in a
/// <c>.corrupt-&lt;offset&gt;</c> file; a file without a valid header is moved aside whole.
/// </summary>
internal static class SegmentRecovery
{
    public static RecoveryReport Recover(string path, bool fsync, ILogger logger, IngestInstruments? instruments)
    {
        ScanResult scan;
        string? quarantine = null;
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read))
        {
            scan = SegmentReader.Scan(handle);
            switch (scan.End)
            {
                case ScanEnd.Clean:
                    return new RecoveryReport(path, scan, null);

                case ScanEnd.TornTail:
                    RandomAccess.SetLength(handle, scan.ValidLength);
                    if (fsync)
                    {
                        RandomAccess.FlushToDisk(handle);
                    }

                    StorageLog.TornTailTruncated(logger, path, scan.ValidLength, scan.InvalidBytes);
                    break;

                case ScanEnd.Corrupt:
                    quarantine = $"{path}{SegmentFile.QuarantineMarker}{scan.ValidLength}";
                    CopyRange(handle, scan.ValidLength, scan.FileLength, quarantine);
                    RandomAccess.SetLength(handle, scan.ValidLength);
                    RandomAccess.FlushToDisk(handle);
                    StorageLog.CorruptionQuarantined(logger, path, scan.ValidLength, scan.InvalidBytes, quarantine);
                    break;

                case ScanEnd.BadHeader:
                    break;
            }
        }

        if (scan.End == ScanEnd.BadHeader)
        {
            quarantine = $"{path}{SegmentFile.QuarantineMarker}0";
            File.Move(path, quarantine);
            StorageLog.HeaderInvalid(logger, path, quarantine);
        }

        if (fsync || scan.End != ScanEnd.TornTail)
        {
            DirectorySync.Fsync(Path.GetDirectoryName(path)!);
        }

        instruments?.RecoveryCuts.Add(1, new KeyValuePair<string, object?>(IngestInstruments.OutcomeTag, scan.End.ToString()));
        return new RecoveryReport(path, scan, quarantine);
    }

    /// <summary>
    /// Copies bytes [from, to) of a segment into a new file, in pooled chunks, and fsyncs it. Used to
    /// keep cut-off bytes beside a segment; the name carries the offset, so a repeat after a crash
    /// rewrites the same bytes.
    /// </summary>
    internal static void CopyRange(SafeFileHandle source, long from, long to, string destinationPath)
    {
        using var destination = File.OpenHandle(destinationPath, FileMode.Create, FileAccess.Write);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            long written = 0;
            while (from + written < to)
            {
                var read = RandomAccess.Read(source, buffer.AsSpan(0, (int)Math.Min(buffer.Length, to - from - written)), from + written);
                if (read == 0)
                {
                    break;
                }

                RandomAccess.Write(destination, buffer.AsSpan(0, read), written);
                written += read;
            }

            RandomAccess.FlushToDisk(destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
