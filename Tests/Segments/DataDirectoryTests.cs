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
        return new SegmentStore(options, budget, NullLogger<SegmentStore>.Instance, UnitInstruments.For(budget));
    }
}
