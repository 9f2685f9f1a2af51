using System.Diagnostics.Metrics;
using System.Text;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Ingest.Forwarding;
using Ingest.Options;
using Ingest.Records;
using Ingest.Segments;
using Ingest.Storage;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Forwarding;

/// <summary>
/// A topic directory and everything a <see cref="TopicLog"/> ships with, without a silo: real segment
/// files, a fake Kafka (<see cref="FakeSender"/>), a fake clock, the silo's budget and pool.
/// </summary>
internal sealed class ForwardingBed : IDisposable
{
    private readonly TempDirectory _root = new("ingest-forwarding");
    private readonly List<string> _retired = [];
    private ActiveSegment? _active;

    public ForwardingBed(int maxInFlightRecords = 1000, long maxInFlightBytes = 1 << 20, int recordsPerTurn = 2048)
    {
        Directory = Path.Combine(_root.Path, "segments", "orders");
        System.IO.Directory.CreateDirectory(Directory);
        Instruments = UnitInstruments.For(new DiskBudget(Microsoft.Extensions.Options.Options.Create(new IngestOptions()), TimeProvider.System));
        Budget = new InFlightBudget(maxInFlightRecords, maxInFlightBytes);
        Context = new ShippingContext(Sender, Budget, new InFlightPool(maxInFlightRecords),
            new ForwardingSettings(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), Fsync: false) { RecordsPerTurn = recordsPerTurn },
            Instruments, NullLogger.Instance, Clock);
    }

    public string Directory { get; }

    public FakeSender Sender { get; } = new();

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));

    public InFlightBudget Budget { get; }

    public IngestInstruments Instruments { get; }

    public ShippingContext Context { get; }

    /// <summary>Segments handed to the archive, in order.</summary>
    public IReadOnlyList<string> Retired => _retired;

    public int Wakes;

    /// <summary>The audits of the bed's directory (as the silo's store keeps them); a new book reads the files again, as after a restart.</summary>
    public Ingest.Audit.AuditBook AuditBook { get; private set; } = null!;

    /// <summary>The audit of the bed's directory in <see cref="AuditBook"/>.</summary>
    public Ingest.Audit.TopicAudit Audit => AuditBook.For("orders", Directory);

    /// <summary>A log over the bed's directory; its wake-ups are counted (no scheduler). With <paramref name="audit"/>, it counts into <see cref="Audit"/> (a new book: what a restart reads) and names its records.</summary>
    public TopicLog NewLog(ShipWindow window = default, Action? finished = null, bool audit = false)
    {
        var progress = new TopicProgress("orders", new AppendCount(), countExisting: true, Instruments);
        if (audit)
        {
            AuditBook = new Ingest.Audit.AuditBook(Microsoft.Extensions.Options.Options.Create(new IngestOptions()), Clock);
            progress = new TopicProgress("orders", new AppendCount(), countExisting: true, Instruments)
            {
                Audit = Audit,
                Identity = Ingest.Audit.RecordIdentity.Of("0123456789abcdef", "orders"),
            };
        }

        var log = new TopicLog("orders", Directory, () => "orders.v1", Retire, Context, progress, window, finished);
        log.Wake = _ => Interlocked.Increment(ref Wakes);
        return log;
    }

    /// <summary>Appends records (values as given) to the open segment, opening segment <paramref name="sequence"/> if none is open.</summary>
    public void Append(long sequence, params string[] values)
    {
        _active ??= ActiveSegment.Create(Path.Combine(Directory, SegmentFile.FileName(sequence, SegmentFile.ActiveExtension)), Clock.GetUtcNow().ToUnixTimeMilliseconds(), fsync: false);
        foreach (var value in values)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            var frame = new byte[RecordFrame.SizeOf(0, bytes.Length)];
            RecordFrame.Write(frame, Clock.GetUtcNow().ToUnixTimeMilliseconds(), [], false, bytes);
            _active.Append([frame], frame.Length);
        }
    }

    /// <summary>Seals the open segment (closes and renames it to .seg), as its topic grain does; returns (sequence, length).</summary>
    public (long Sequence, long Length) Seal()
    {
        var active = _active!;
        _active = null;
        active.Seal();
        return (active.Sequence, active.Length);
    }

    public long ActiveLength => _active!.Length;

    private bool Retire(string path)
    {
        _retired.Add(Path.GetFileName(path));
        File.Delete(path);
        return true;
    }

    public void Dispose()
    {
        _active?.Dispose();
        _root.Dispose();
    }
}
