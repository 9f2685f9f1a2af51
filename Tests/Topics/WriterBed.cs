using Ingest.Diagnostics;
using Ingest.Forwarding;
using Ingest.Options;
using Ingest.Segments;
using Ingest.Storage;
using Ingest.Tests.Infrastructure;
using Ingest.Topics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Topics;

/// <summary>
/// Topic writers without Orleans for unit tests: a temporary data directory, a fake clock, a disk that can
/// hold an fsync or fail a write, and the forwarder's signals recorded.
/// </summary>
internal sealed class WriterBed : IDisposable
{
    private readonly TempDirectory _data = new("ingest-writer-unit");
    private SegmentStore? _store;
    private DiskBudget? _budget;

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));

    public HeldDisk Disk { get; } = new();

    /// <summary>The meters of this bed's writers (and of no other test's).</summary>
    public System.Diagnostics.Metrics.IMeterFactory Meters { get; } = UnitInstruments.NewMeters();

    public RecordedEvents Events { get; } = new();

    /// <summary>The bytes each archive eviction was asked for.</summary>
    public List<long> Evictions { get; } = [];

    public SegmentStore Store => _store ?? throw new InvalidOperationException("Build first");

    public DiskBudget Budget => _budget ?? throw new InvalidOperationException("Build first");

    /// <summary>Opens the data directory and returns what the silo's topic grains share.</summary>
    public TopicWriters Build(Durability durability, long maxDiskBytes = 1L << 30)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new IngestOptions { DataDirectory = _data.Path, Durability = durability, MaxDiskBytes = maxDiskBytes, MinFreeDiskBytes = 0 });
        _budget = new DiskBudget(options, Clock);
        var instruments = UnitInstruments.For(_budget, meters: Meters);
        _store = new SegmentStore(options, _budget, NullLogger<SegmentStore>.Instance, instruments, new Ingest.Audit.AuditBook(options, Clock));
        _store.Open();
        var room = new DiskRoom(_budget, bytes =>
        {
            Evictions.Add(bytes);
            return 0;
        });
        return new TopicWriters(_store, room, instruments, Events, new AppendCounts(), Clock, [Disk], NullLogger<TopicWriter>.Instance);
    }

    public void Dispose()
    {
        _store?.Dispose();
        _data.Dispose();
    }
}

/// <summary>A disk that counts writes and fsyncs, can hold fsyncs until released, and can fail writes.</summary>
internal sealed class HeldDisk : IFileFaults
{
    private readonly ManualResetEventSlim _fsyncsMayGo = new(true);
    private readonly SemaphoreSlim _fsyncStarted = new(0);
    private int _writes;
    private int _fsyncs;

    public volatile bool FailWrites;

    public int Writes => Volatile.Read(ref _writes);

    public int Fsyncs => Volatile.Read(ref _fsyncs);

    /// <summary>Completes when an fsync has started (and is held).</summary>
    public Task FsyncStarted => _fsyncStarted.WaitAsync();

    public void HoldFsyncs() => _fsyncsMayGo.Reset();

    public void ReleaseFsyncs() => _fsyncsMayGo.Set();

    public void BeforeWrite(string path, long bytes)
    {
        if (FailWrites)
        {
            throw new IOException("Input/output error (injected)");
        }

        Interlocked.Increment(ref _writes);
    }

    public void BeforeFsync(string path)
    {
        Interlocked.Increment(ref _fsyncs);
        _fsyncStarted.Release();
        if (!_fsyncsMayGo.Wait(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException("the test never released the held fsync");
        }
    }
}

internal sealed class RecordedEvents : ISegmentEvents
{
    public List<(long Sequence, string What)> Seen { get; } = [];

    public void Appended(string topic, long sequence, long length) => Seen.Add((sequence, "appended"));

    public void Sealed(string topic, long sequence, long length) => Seen.Add((sequence, "sealed"));

    public void Changed(string topic) => Seen.Add((0, "changed"));
}
