using Ingest.Diagnostics;
using Ingest.Options;
using Ingest.Storage;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Tests.Segments;

public sealed class DataDirectoryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void a_second_store_on_the_same_data_directory_is_refused()
    {
        using var first = CreateStore();
        first.Open();

        using var second = CreateStore();
        var error = Assert.Throws<DataDirectoryLockedException>(second.Open);

        Assert.Contains("in use by another process", error.Message);
        Assert.Contains($"pid {Environment.ProcessId}", error.Message);
    }

    [Fact]
    public void opening_recovers_and_seals_segments_a_crash_left_active()
    {
        var topic = Path.Combine(_dir.Path, "segments", "orders");
        var active = SegmentBuilder.Write(topic, 7);
        using (var stream = new FileStream(active, FileMode.Append))
        {
            stream.Write(new byte[] { 40, 0, 0, 0, 1, 2 }); // a torn frame header
        }

        using var store = CreateStore();
        store.Open();

        Assert.False(File.Exists(active));
        var sealedPath = Path.ChangeExtension(active, ".seg");
        Assert.Equal(7, StoredRecords.Read(_dir.Path, "orders").Count);
        Assert.True(File.Exists(sealedPath));
        // The next segment of the topic continues the sequence.
        Assert.EndsWith("000000000002.active", store.OpenTopic("orders").NextActivePath());
    }

    private SegmentStore CreateStore()
    {
        var options = Microsoft.Extensions.Options.Options.Create(new IngestOptions { DataDirectory = _dir.Path });
        var budget = new DiskBudget(options, TimeProvider.System);
        var labels = new Ingest.Diagnostics.TopicLabels(new Ingest.Configuration.LiveConfig(new Ingest.Configuration.ClusterConfig()));
        return new SegmentStore(options, budget, NullLogger<SegmentStore>.Instance, new IngestInstruments(new TestMeterFactory(), labels, budget));
    }

    private sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}

public sealed class CheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new("ingest-checkpoint");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void a_saved_checkpoint_loads_back()
    {
        new Ingest.Segments.Checkpoint(7, 4096).Save(_dir.Path, fsync: true);

        Assert.Equal(new Ingest.Segments.Checkpoint(7, 4096), Ingest.Segments.Checkpoint.Load(_dir.Path));
    }

    [Fact]
    public void a_missing_checkpoint_is_none_and_an_unreadable_one_is_reported_not_thrown()
    {
        Assert.Null(Ingest.Segments.Checkpoint.Load(_dir.Path, out var missingUnreadable));
        Assert.False(missingUnreadable);

        File.WriteAllText(Path.Combine(_dir.Path, Ingest.Segments.Checkpoint.FileName), string.Empty);

        Assert.Null(Ingest.Segments.Checkpoint.Load(_dir.Path, out var unreadable));
        Assert.True(unreadable);
    }
}
