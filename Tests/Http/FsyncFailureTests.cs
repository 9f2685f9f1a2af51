using System.Net;
using Ingest.Segments;
using Ingest.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Tests.Http;

/// <summary>The shared course of a failed write or fsync: "before" 202, "during" 503 under the fault, "after" 202 in a new segment.</summary>
internal static class FailedAppend
{
    public static async Task AssertRefusedThenSealed(InProcessSilo silo, string topic, Action<bool> fault, string detail)
    {
        var before = await silo.Http.PostAsync($"/v1/topics/{topic}", new StringContent("before"));
        fault(true);
        var during = await silo.Http.PostAsync($"/v1/topics/{topic}", new StringContent("during"));
        fault(false);
        var after = await silo.Http.PostAsync($"/v1/topics/{topic}", new StringContent("after"));

        Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
        Assert.NotNull(during.Headers.RetryAfter);
        Assert.Contains(detail, await during.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
        // The record that failed was never acknowledged: it is not in the segments (a failed fsync cuts it back out), so it is not shipped either.
        var stored = silo.Records(topic);
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
    public Task a_failing_fsync_answers_503_leaves_the_unsynced_record_out_of_the_segment_and_the_next_append_opens_a_new_one() =>
        FailedAppend.AssertRefusedThenSealed(silo, "fsync-eio", failing => silo.Faults.FailFsyncs = failing, "fsync");
}
