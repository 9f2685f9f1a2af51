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
    public Task a_failing_write_answers_503_acknowledges_nothing_seals_the_segment_and_the_next_append_opens_a_new_one() =>
        FailedAppend.AssertRefusedThenSealed(silo, "eio", failing => silo.Faults.FailWrites = failing, "Input/output error");
}
