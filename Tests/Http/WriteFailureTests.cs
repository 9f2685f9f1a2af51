using System.Net;
using Ingest.Segments;
using Ingest.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Tests.Http;

/// <summary>Writes fail on demand, as a failing disk would (EIO) — injected below the segment writer.</summary>
internal sealed class SwitchableFaults : IFileFaults
{
    public volatile bool FailWrites;
    public volatile bool FailFsyncs;

    public void BeforeWrite(string path, long bytes)
    {
        if (FailWrites)
        {
            throw new IOException("Input/output error (injected)");
        }
    }

    public void BeforeFsync(string path)
    {
        if (FailFsyncs)
        {
            throw new IOException("Input/output error (injected into fsync)");
        }
    }
}

public sealed class FaultySilo : InProcessSilo
{
    internal SwitchableFaults Faults { get; } = new();

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IFileFaults>(Faults);
}

public sealed class WriteFailureTests(FaultySilo silo) : IClassFixture<FaultySilo>
{
    [Fact]
    public async Task a_failing_write_answers_503_acknowledges_nothing_seals_the_segment_and_the_next_append_opens_a_new_one()
    {
        var before = await silo.Http.PostAsync("/v1/topics/eio", new StringContent("before"));
        silo.Faults.FailWrites = true;
        var during = await silo.Http.PostAsync("/v1/topics/eio", new StringContent("during"));
        silo.Faults.FailWrites = false;
        var after = await silo.Http.PostAsync("/v1/topics/eio", new StringContent("after"));

        Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
        Assert.NotNull(during.Headers.RetryAfter);
        Assert.Contains("Input/output error", await during.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
        var stored = silo.Records("eio");
        Assert.Equal(["before", "after"], stored.Select(r => r.ValueText));
        Assert.Equal(["000000000001.seg", "000000000002.active"], stored.Select(r => r.Segment));
    }
}

/// <summary>A silo with Fsync durability whose fsyncs fail on demand.</summary>
public sealed class FaultyFsyncSilo : InProcessSilo
{
    internal SwitchableFaults Faults { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Ingest:Durability", "Fsync")];

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IFileFaults>(Faults);
}

public sealed class FsyncFailureTests(FaultyFsyncSilo silo) : IClassFixture<FaultyFsyncSilo>
{
    [Fact]
    public async Task a_failing_fsync_answers_503_leaves_the_unsynced_record_out_of_the_segment_and_the_next_append_opens_a_new_one()
    {
        var before = await silo.Http.PostAsync("/v1/topics/fsync-eio", new StringContent("before"));
        silo.Faults.FailFsyncs = true;
        var during = await silo.Http.PostAsync("/v1/topics/fsync-eio", new StringContent("during"));
        silo.Faults.FailFsyncs = false;
        var after = await silo.Http.PostAsync("/v1/topics/fsync-eio", new StringContent("after"));

        Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
        Assert.NotNull(during.Headers.RetryAfter);
        Assert.Contains("fsync", await during.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
        // The record whose fsync failed was written but never acknowledged: it is cut out, so it is not shipped either.
        var stored = silo.Records("fsync-eio");
        Assert.Equal(["before", "after"], stored.Select(r => r.ValueText));
        Assert.Equal(["000000000001.seg", "000000000002.active"], stored.Select(r => r.Segment));
    }
}
