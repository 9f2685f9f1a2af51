using Ingest.Diagnostics;
using Ingest.Options;
using Ingest.Storage;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Tests.Segments;

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
    public void writes_alternate_between_two_files_in_place_and_the_newest_readable_one_wins()
    {
        var file = new Ingest.Segments.CheckpointFile(_dir.Path);
        file.Load(out _);
        file.Save(new Ingest.Segments.Checkpoint(1, 100), fsync: false);
        file.Save(new Ingest.Segments.Checkpoint(1, 200), fsync: false);
        file.Save(new Ingest.Segments.Checkpoint(2, 16), fsync: false);

        Assert.Equal(["checkpoint", "checkpoint.1"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order());
        Assert.Equal(new Ingest.Segments.Checkpoint(2, 16), Ingest.Segments.Checkpoint.Load(_dir.Path));
        Assert.All(Directory.GetFiles(_dir.Path), f => Assert.Equal(80, new FileInfo(f).Length)); // overwritten in place, never grown
    }

    [Fact]
    public void a_write_torn_by_a_crash_falls_back_to_the_write_before_it()
    {
        var file = new Ingest.Segments.CheckpointFile(_dir.Path);
        file.Load(out _);
        file.Save(new Ingest.Segments.Checkpoint(3, 500), fsync: false); // sequence 1: checkpoint.1
        file.Save(new Ingest.Segments.Checkpoint(3, 900), fsync: false); // sequence 2: checkpoint
        var newest = Path.Combine(_dir.Path, "checkpoint");
        var bytes = File.ReadAllBytes(newest);
        bytes[4] = (byte)'7'; // a digit of the position changed under its CRC: a write that did not complete
        File.WriteAllBytes(newest, bytes);

        Assert.Equal(new Ingest.Segments.Checkpoint(3, 500), Ingest.Segments.Checkpoint.Load(_dir.Path, out var unreadable));
        Assert.False(unreadable);
    }

    [Fact]
    public void a_checkpoint_in_the_older_single_file_format_still_reads_and_the_next_write_goes_beside_it()
    {
        File.WriteAllText(Path.Combine(_dir.Path, "checkpoint"), "12 3456\n");
        var file = new Ingest.Segments.CheckpointFile(_dir.Path);

        Assert.Equal(new Ingest.Segments.Checkpoint(12, 3456), file.Load(out _));
        file.Save(new Ingest.Segments.Checkpoint(12, 4000), fsync: false);
        Assert.Equal(new Ingest.Segments.Checkpoint(12, 4000), Ingest.Segments.Checkpoint.Load(_dir.Path));
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
