using System.Buffers.Binary;
using System.Globalization;

namespace Ingest.Segments;

/// <summary>Naming and the 16-byte header of segment files (see README.md in this folder).</summary>
internal static class SegmentFile
{
    public const int HeaderSize = 16;
    public const string ActiveExtension = ".active";
    public const string SealedExtension = ".seg";
    public const string QuarantineMarker = ".corrupt-";

    private static ReadOnlySpan<byte> Magic => "INGSEG01"u8;

    public static void WriteHeader(Span<byte> destination, long createdUnixMs)
    {
        Magic.CopyTo(destination);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], createdUnixMs);
    }

    public static bool IsValidHeader(ReadOnlySpan<byte> header) =>
        header.Length >= HeaderSize && header[..8].SequenceEqual(Magic);

    public static string FileName(long sequence, string extension) =>
        sequence.ToString("D12", CultureInfo.InvariantCulture) + extension;

    /// <summary>The sequence number of a <c>.active</c> or <c>.seg</c> file, or -1 for anything else.</summary>
    public static long SequenceOf(string path)
    {
        var name = Path.GetFileName(path.AsSpan());
        var dot = name.IndexOf('.');
        if (dot <= 0)
        {
            return -1;
        }

        var extension = name[dot..];
        if (!extension.SequenceEqual(ActiveExtension) && !extension.SequenceEqual(SealedExtension))
        {
            return -1;
        }

        return long.TryParse(name[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) ? sequence : -1;
    }

    /// <summary>The creation time in a segment's header (the time its first record was written), or null if unreadable.</summary>
    public static long? ReadCreatedMs(string path)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return RandomAccess.Read(handle, header, 0) == HeaderSize && IsValidHeader(header)
                ? BinaryPrimitives.ReadInt64LittleEndian(header[8..])
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A file's length, or 0 if it is gone (deleted or renamed meanwhile).</summary>
    public static long LengthOrZero(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public static string SealedPathOf(string activePath) =>
        Path.ChangeExtension(activePath, SealedExtension);
}
