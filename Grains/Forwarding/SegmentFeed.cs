using Ingest.Kafka;
using Ingest.Records;
using Ingest.Segments;
using Microsoft.Win32.SafeHandles;

namespace Ingest.Forwarding;

/// <summary>What <see cref="SegmentFeed.Next"/> found.</summary>
internal enum FeedStep
{
    /// <summary>A record; <see cref="SegmentFeed.Take"/> moves the position past it (or it is read again next time).</summary>
    Record,

    /// <summary>Nothing whole to read now: the open segment's writer may add more.</summary>
    Caught,

    /// <summary>A sealed segment ended (<see cref="SegmentFeed.Ended"/>); the position moved to the next segment.</summary>
    SegmentEnd,
}

/// <summary>
/// Reads one topic's segments in order from a position, through a <see cref="SegmentCursor"/>, for its
/// <see cref="TopicLog"/>. A segment still open may be mid-append: its end is only where the bytes stop
/// for now. Once sealed (known before the read began) its bytes are final, and what follows the last
/// whole frame is copied to <c>&lt;segment&gt;.corrupt-&lt;offset&gt;</c> (a torn or corrupt tail) before
/// the segment's end is reported. The file stays open between turns; the cursor's buffer does not.
/// </summary>
internal sealed class SegmentFeed(KnownSegments segments, string topic, ShippingContext context)
{
    private const int BufferSize = 256 * 1024;

    private SafeFileHandle? _file;
    private long _fileSegment = -1;
    private SegmentCursor? _cursor;
    private bool _sealedBefore;

    /// <summary>The segment and offset of the next record to take.</summary>
    public long Segment { get; private set; }

    public long Offset { get; private set; }

    /// <summary>The segment that ended at the last <see cref="FeedStep.SegmentEnd"/>, and the offset it ended at.</summary>
    public (long Segment, long Offset) Ended { get; private set; }

    /// <summary>When the file was last read (a timestamp).</summary>
    public long UsedAt { get; private set; }

    public bool IsOpen => _file is not null;

    /// <summary>Moves to <paramref name="position"/> (a frame boundary): after a rewind, or at the start.</summary>
    public void Seek(Checkpoint position)
    {
        Close();
        Segment = position.Segment;
        Offset = Math.Max(position.Offset, SegmentFile.HeaderSize);
    }

    /// <summary>The next record at the position, or why there is none.</summary>
    public FeedStep Next(long now, out RecordView record, out int size, out long end)
    {
        while (true)
        {
            if (_cursor is null)
            {
                if (!Open())
                {
                    record = default;
                    size = 0;
                    end = Offset;
                    return FeedStep.Caught;
                }

                UsedAt = now;
                _cursor = new SegmentCursor(_file!, Offset, BufferSize);
            }

            var step = _cursor.Next(out record, out size);
            end = _cursor.Position;
            if (step == CursorStep.Record)
            {
                return FeedStep.Record;
            }

            if (!_sealedBefore)
            {
                if (segments.IsSealed(Segment))
                {
                    DropCursor(); // sealed meanwhile: read what is left once more, as final
                    continue;
                }

                return FeedStep.Caught;
            }

            var length = RandomAccess.GetLength(_file!);
            if (Offset < length)
            {
                Quarantine(length);
            }

            Ended = (Segment, Offset);
            Close();
            Segment++;
            Offset = SegmentFile.HeaderSize;
            return FeedStep.SegmentEnd;
        }
    }

    /// <summary>The record last returned is taken (sent, or passed over): the position moves past it.</summary>
    public void Take(long end) => Offset = end;

    /// <summary>
    /// Ends a turn's reading: the buffer goes back to the pool; the file stays open for the next turn, unless
    /// the silo already keeps <see cref="ForwardingSettings.MaxOpenReaders"/> open.
    /// </summary>
    public void EndReading()
    {
        DropCursor();
        if (_file is not null && context.OpenReaders > context.Settings.MaxOpenReaders)
        {
            Close();
        }
    }

    public void Close()
    {
        DropCursor();
        if (_file is not null)
        {
            _file.Dispose();
            _file = null;
            context.ReaderClosed();
        }

        _fileSegment = -1;
    }

    private void DropCursor()
    {
        _cursor?.Dispose();
        _cursor = null;
    }

    /// <summary>The file of the segment at the position (the next known one if that is gone); false when there is none.</summary>
    private bool Open()
    {
        if (segments.FirstFrom(Segment) is not { } next)
        {
            Close();
            return false;
        }

        _sealedBefore = next.Sealed;
        if (next.Sequence > Segment)
        {
            Segment = next.Sequence;
            Offset = SegmentFile.HeaderSize;
        }

        if (_file is not null && _fileSegment == Segment)
        {
            return true;
        }

        Close();
        // The sealed name first if it is known sealed; a rename between knowing and opening is tried the other way.
        foreach (var sealedFile in next.Sealed ? new[] { true } : [false, true])
        {
            try
            {
                _file = SegmentCursor.OpenRead(segments.PathOf(Segment, sealedFile));
                _fileSegment = Segment;
                context.ReaderOpened();
                return true;
            }
            catch (FileNotFoundException)
            {
            }
        }

        segments.Reload(); // what is on disk is not what was signalled: take the directory's word for it
        return false;
    }

    private void Quarantine(long length)
    {
        var path = segments.PathOf(Segment, sealedFile: true);
        var quarantine = $"{path}{SegmentFile.QuarantineMarker}{Offset}";
        SegmentRecovery.CopyRange(_file!, Offset, length, quarantine);
        KafkaLog.SealedSegmentCorrupt(context.Logger, topic, path, Offset, length - Offset, quarantine);
    }
}
