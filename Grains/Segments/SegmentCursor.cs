using System.Buffers;
using System.Buffers.Binary;
using Ingest.Records;
using Microsoft.Win32.SafeHandles;

namespace Ingest.Segments;

/// <summary>What <see cref="SegmentCursor.Next"/> found at the cursor's position.</summary>
internal enum CursorStep
{
    /// <summary>A whole, valid frame: the record is returned and the cursor is past it.</summary>
    Record,

    /// <summary>No whole frame: the bytes end here, or inside a frame not yet complete (a write in progress, or a torn tail).</summary>
    End,

    /// <summary>A frame with an impossible length or a wrong CRC starts here; nothing from here on is trusted.</summary>
    Corrupt,
}

/// <summary>
/// The one reader of a segment's frames: shipping, recovery, <c>dump</c>, backlog counting and record
/// times all read through it. It reads the file sequentially in chunks into a pooled buffer (grown for a
/// frame larger than the buffer, within <see cref="RecordFrame.MaxBodyLength"/>), never writes it, and
/// may follow a file that is still being appended (a later <see cref="Next"/> sees the new frames).
/// A returned record's spans point into the buffer and are valid until the next call.
/// </summary>
internal sealed class SegmentCursor : IDisposable
{
    /// <summary>Chunk for sequential reads: large enough to amortise syscalls, small enough to stay in cache.</summary>
    public const int DefaultBufferSize = 1 << 20;

    private readonly SafeFileHandle _file;
    private readonly bool _ownsFile;
    private byte[] _buffer;
    private long _bufferOffset;
    private int _filled;
    private int _position;

    /// <summary>A cursor on an open file at <paramref name="offset"/> (the file stays the caller's).</summary>
    public SegmentCursor(SafeFileHandle file, long offset, int bufferSize = DefaultBufferSize)
        : this(file, offset, bufferSize, ownsFile: false)
    {
    }

    private SegmentCursor(SafeFileHandle file, long offset, int bufferSize, bool ownsFile)
    {
        _file = file;
        _ownsFile = ownsFile;
        _bufferOffset = offset;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    /// <summary>Opens <paramref name="path"/> for reading (shared with its writer and with renames) at <paramref name="offset"/>.</summary>
    public static SegmentCursor Open(string path, long offset, int bufferSize = DefaultBufferSize) =>
        new(OpenRead(path), offset, bufferSize, ownsFile: true);

    public static SafeFileHandle OpenRead(string path) =>
        File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>The file offset of the next frame.</summary>
    public long Position => _bufferOffset + _position;

    public CursorStep Next(out RecordView record, out int frameSize)
    {
        while (true)
        {
            switch (RecordFrame.TryRead(_buffer.AsSpan(_position, _filled - _position), out record, out frameSize))
            {
                case FrameStatus.Ok:
                    _position += frameSize;
                    return CursorStep.Record;
                case FrameStatus.Corrupt:
                    return CursorStep.Corrupt;
            }

            if (!Refill())
            {
                return CursorStep.End;
            }
        }
    }

    /// <summary>Moves the cursor to <paramref name="offset"/> (a frame boundary), dropping what it had read.</summary>
    public void Seek(long offset)
    {
        _bufferOffset = offset;
        _filled = 0;
        _position = 0;
    }

    /// <summary>Frames from <paramref name="offset"/> to the first byte that is not a whole valid frame.</summary>
    public static long CountFrames(string path, long offset)
    {
        using var cursor = Open(path, offset);
        long frames = 0;
        while (cursor.Next(out _, out _) == CursorStep.Record)
        {
            frames++;
        }

        return frames;
    }

    /// <summary>The ingest time of the record whose frame starts at <paramref name="offset"/>, or null if no whole frame is there.</summary>
    public static long? TimestampAt(string path, long offset)
    {
        using var cursor = Open(path, offset, bufferSize: 4096);
        return cursor.Next(out var record, out _) == CursorStep.Record ? record.TimestampMs : null;
    }

    /// <summary>Keeps the unread bytes, makes room for the frame they begin, and reads more. False when the file has no more bytes now.</summary>
    private bool Refill()
    {
        var remaining = _filled - _position;
        var needed = remaining >= RecordFrame.HeaderSize
            ? RecordFrame.HeaderSize + (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_position)), RecordFrame.MaxBodyLength)
            : RecordFrame.HeaderSize;
        if (needed > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(needed);
            _buffer.AsSpan(_position, remaining).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        else if (_position > 0)
        {
            _buffer.AsSpan(_position, remaining).CopyTo(_buffer);
        }

        _bufferOffset += _position;
        _position = 0;
        _filled = remaining;
        var read = RandomAccess.Read(_file, _buffer.AsSpan(_filled), _bufferOffset + _filled);
        _filled += read;
        return read > 0;
    }

    public void Dispose()
    {
        if (_ownsFile)
        {
            _file.Dispose();
        }

        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
