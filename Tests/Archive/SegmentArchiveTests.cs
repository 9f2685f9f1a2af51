using System.Diagnostics.Metrics;
using Ingest.Archive;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Ingest.Options;
using Ingest.Segments;
using Ingest.Storage;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Segments;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Archive;

/// <summary>
/// The archive on its own, over a real data directory with a fake clock: where a shipped segment goes, which
/// days retention deletes, and what eviction frees — never an unshipped segment.
/// </summary>
public sealed class SegmentArchiveTests : IDisposable
{
    private readonly TempDirectory _data = new("ingest-archive-unit");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));
    private DiskBudget? _budget;
    private SegmentStore? _store;

    [Fact]
    public void a_shipped_segment_moves_under_the_utc_day_of_its_first_record_and_keeps_counting_against_the_budget()
    {
        var (archive, budget, store) = Build(retentionDays: 7);
        var segment = Sealed(store, "orders", 1, Day(2026, 11, 29));
        var length = new FileInfo(segment).Length;
        var usedBefore = budget.UsedBytes;

        Assert.True(archive.Retire("orders", segment));

        Assert.False(File.Exists(segment));
        Assert.True(File.Exists(Path.Combine(archive.Root, "20261129", "orders", Path.GetFileName(segment))));
        Assert.Equal(usedBefore, budget.UsedBytes); // moved, not freed: archived bytes count against Ingest:MaxDiskBytes
        Assert.True(length > SegmentFile.HeaderSize);
    }

    [Fact]
    public void with_retention_days_zero_a_shipped_segment_is_deleted_and_its_bytes_are_released()
    {
        var (archive, budget, store) = Build(retentionDays: 0);
        var segment = Sealed(store, "orders", 1, Day(2026, 12, 1));
        var length = new FileInfo(segment).Length;
        var usedBefore = budget.UsedBytes;

        Assert.True(archive.Retire("orders", segment));

        Assert.False(File.Exists(segment));
        Assert.False(Directory.Exists(archive.Root) && Directory.EnumerateFiles(archive.Root, "*", SearchOption.AllDirectories).Any());
        Assert.Equal(usedBefore - length, budget.UsedBytes);
    }

    [Fact]
    public void retention_deletes_whole_days_older_than_retention_days_before_today_and_keeps_the_rest()
    {
        var (archive, _, store) = Build(retentionDays: 2);
        var sequence = 1;
        foreach (var day in new[] { Day(2026, 11, 27), Day(2026, 11, 28), Day(2026, 11, 29), Day(2026, 11, 30), Day(2026, 12, 1) })
        {
            Assert.True(archive.Retire("orders", Sealed(store, "orders", sequence++, day)));
        }

        Assert.Equal(2, archive.ApplyRetention()); // today 12-01, two days kept before it: 11-29 and later stay

        Assert.Equal(["20261129", "20261130", "20261201"], ArchivedDays(archive));
        _clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, archive.ApplyRetention());
        Assert.Equal(["20261130", "20261201"], ArchivedDays(archive));
    }

    [Fact]
    public void eviction_frees_the_oldest_archived_day_first_and_stops_once_enough_is_free()
    {
        var (archive, budget, store) = Build(retentionDays: 30);
        var sizes = new List<long>();
        var sequence = 1;
        foreach (var day in new[] { Day(2026, 11, 28), Day(2026, 11, 29), Day(2026, 11, 30) })
        {
            var segment = Sealed(store, "orders", sequence++, day);
            sizes.Add(new FileInfo(segment).Length);
            Assert.True(archive.Retire("orders", segment));
        }

        var usedBefore = budget.UsedBytes;

        var freed = archive.Evict(sizes[0]);

        Assert.Equal(sizes[0], freed);
        Assert.Equal(usedBefore - freed, budget.UsedBytes);
        Assert.Equal(["20261129", "20261130"], ArchivedDays(archive));
    }

    [Fact]
    public void eviction_never_touches_an_unshipped_segment_even_when_asked_for_more_than_the_archive_holds()
    {
        var (archive, _, store) = Build(retentionDays: 30);
        var shipped = Sealed(store, "orders", 1, Day(2026, 11, 30));
        var shippedLength = new FileInfo(shipped).Length;
        Assert.True(archive.Retire("orders", shipped));
        var unshipped = Sealed(store, "orders", 2, Day(2026, 11, 30));
        var active = SegmentBuilder.Write(Path.Combine(store.SegmentsRoot, "clicks"), records: 3, sequence: 1);

        var freed = archive.Evict(long.MaxValue);

        Assert.Equal(shippedLength, freed);
        Assert.True(File.Exists(unshipped), "a sealed segment not yet shipped must stay");
        Assert.True(File.Exists(active), "an active segment must stay");
        Assert.Empty(ArchivedDays(archive));
        Assert.Equal(0, archive.Evict(1)); // nothing archived is left: nothing to free
    }

    public void Dispose()
    {
        _store?.Dispose();
        _data.Dispose();
    }

    private (SegmentArchive Archive, DiskBudget Budget, SegmentStore Store) Build(int retentionDays)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new IngestOptions { DataDirectory = _data.Path, RetentionDays = retentionDays });
        var budget = new DiskBudget(options, _clock);
        var instruments = UnitInstruments.For(budget);
        var store = new SegmentStore(options, budget, NullLogger<SegmentStore>.Instance, instruments);
        store.Open();
        _budget = budget;
        _store = store;
        return (new SegmentArchive(store, budget, options, _clock, NullLogger<SegmentArchive>.Instance, instruments), budget, store);
    }

    /// <summary>A sealed segment of three records whose first record was written at <paramref name="createdMs"/>, counted in the budget as an append would.</summary>
    private string Sealed(SegmentStore store, string topic, int sequence, long createdMs)
    {
        var directory = Path.Combine(store.SegmentsRoot, topic);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, SegmentFile.FileName(sequence, SegmentFile.ActiveExtension));
        using (var segment = ActiveSegment.Create(path, createdMs, fsync: false))
        {
            var value = "{\"n\":1}"u8.ToArray();
            var frame = new byte[Ingest.Records.RecordFrame.SizeOf(0, value.Length)];
            Ingest.Records.RecordFrame.Write(frame, createdMs, [], false, value);
            segment.Append([frame, frame, frame], frame.Length * 3);
            segment.Seal();
        }

        var sealedPath = Path.Combine(directory, SegmentFile.FileName(sequence, SegmentFile.SealedExtension));
        Assert.True(File.Exists(sealedPath));
        Assert.True(_budget!.TryReserve(new FileInfo(sealedPath).Length, out var refused), refused);
        return sealedPath;
    }

    private static long Day(int year, int month, int day) => new DateTimeOffset(year, month, day, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static List<string> ArchivedDays(SegmentArchive archive) =>
        Directory.Exists(archive.Root)
            ? Directory.EnumerateDirectories(archive.Root).Where(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories).Any()).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToList()
            : [];
}
