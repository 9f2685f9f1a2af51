using Ingest.Forwarding;
using Ingest.Segments;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Forwarding;

public sealed class CheckpointerTests : IDisposable
{
    private readonly TempDirectory _directory = new("ingest-checkpointer");
    private readonly FakeTimeProvider _clock = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void the_position_is_written_at_most_once_per_interval_unless_forced_and_reports_what_it_covered()
    {
        var checkpointer = new Checkpointer(_directory.Path, fsync: false, TimeSpan.FromMilliseconds(200), _clock);
        checkpointer.Load(new Checkpoint(1, 16), out _, out var saved);
        Assert.False(saved);

        checkpointer.Advance(new Checkpoint(1, 100), 3);
        Assert.Equal(3, checkpointer.Persist(force: false)); // nothing written yet: due at once
        checkpointer.Advance(new Checkpoint(1, 200), 2);
        Assert.Equal(0, checkpointer.Persist(force: false));
        Assert.Equal(TimeSpan.FromMilliseconds(200), checkpointer.DueIn);
        Assert.Equal(new Checkpoint(1, 100), Checkpoint.Load(_directory.Path));

        _clock.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(2, checkpointer.Persist(force: false));
        Assert.Equal(new Checkpoint(1, 200), Checkpoint.Load(_directory.Path));

        checkpointer.Advance(new Checkpoint(2, 16), 0);
        Assert.Equal(0, checkpointer.Persist(force: true)); // a segment's end: written at once
        Assert.Equal(new Checkpoint(2, 16), Checkpoint.Load(_directory.Path));
        Assert.Null(checkpointer.DueIn);
    }

    [Fact]
    public void the_position_never_moves_back()
    {
        var checkpointer = new Checkpointer(_directory.Path, fsync: false, TimeSpan.Zero, _clock);
        checkpointer.Load(new Checkpoint(1, 16), out _, out _);
        checkpointer.Advance(new Checkpoint(3, 50), 1);
        checkpointer.Advance(new Checkpoint(2, 900), 1);

        Assert.Equal(new Checkpoint(3, 50), checkpointer.Acked);
    }

    [Fact]
    public void an_unreadable_checkpoint_starts_from_the_oldest_segment_and_says_so()
    {
        File.WriteAllText(Path.Combine(_directory.Path, Checkpoint.FileName), "");
        var checkpointer = new Checkpointer(_directory.Path, fsync: false, TimeSpan.Zero, _clock);

        var start = checkpointer.Load(new Checkpoint(4, 16), out var unreadable, out var saved);

        Assert.True(unreadable);
        Assert.False(saved);
        Assert.Equal(new Checkpoint(4, 16), start);
    }
}
