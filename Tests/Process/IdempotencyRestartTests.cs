using System.Net;
using Ingest.Tests.Http;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Process;

[Collection(nameof(ProcessTests))]
public sealed class IdempotencyRestartTests
{
    [Fact]
    public async Task after_a_sigkill_and_a_restart_on_the_same_disk_a_retry_within_the_window_stores_nothing()
    {
        using var data = new TempDirectory("ingest-idem-restart");
        var environment = SiloEnvironment.For(data.Path);
        var key = Guid.NewGuid().ToString();
        await using (var first = HostProcess.Start("Silo", environment))
        {
            await first.WaitReadyAsync();
            using var http = new HttpClient { BaseAddress = first.Http.BaseAddress };
            Assert.Equal(HttpStatusCode.Accepted, (await IdempotencyTests.Post(http, "/v1/topics/idem-restart", """{"paid":1}""", key)).StatusCode);
            await first.KillAsync();
            Assert.Equal(137, first.ExitCode); // 128 + SIGKILL: nothing ran at exit, the window lived only in memory
        }

        await using var second = HostProcess.Start("Silo", environment);
        await second.WaitReadyAsync();
        using var again = new HttpClient { BaseAddress = second.Http.BaseAddress };
        var retry = await IdempotencyTests.Post(again, "/v1/topics/idem-restart", """{"paid":1}""", key);

        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Single(StoredRecords.Read(data.Path, "idem-restart").Concat(StoredRecords.ReadArchive(data.Path, "idem-restart")));
        Assert.Contains("Recovered 1 idempotency keys of topic idem-restart", second.Output, StringComparison.Ordinal);
    }
}
