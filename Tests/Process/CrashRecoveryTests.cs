using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Ingest.Records;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Process;

[Collection(nameof(ProcessTests))]
public sealed class CrashRecoveryTests
{
    [Fact]
    public async Task a_silo_killed_during_load_keeps_every_202d_record_truncates_a_torn_tail_and_appends_again()
    {
        using var data = new TempDirectory("ingest-crash");
        var environment = SiloEnvironment.For(data.Path);
        await using var first = HostProcess.Start("Silo", environment);
        await first.WaitReadyAsync();

        var acked = new ConcurrentBag<string>();
        var failures = 0;
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
        {
            using var http = new HttpClient { BaseAddress = first.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var id = $"{c}:{n}";
                try
                {
                    var body = n % 10 == 0
                        ? new StringContent($"{{\"id\":\"{id}\"}}\n{{\"id\":\"{id}b\"}}\n", System.Text.Encoding.UTF8, "application/x-ndjson")
                        : new StringContent($"{{\"id\":\"{id}\"}}");
                    var response = await http.PostAsync(n % 10 == 0 ? "/v1/topics/crash/batch" : "/v1/topics/crash", body);
                    if (response.StatusCode == HttpStatusCode.Accepted)
                    {
                        acked.Add(id);
                        if (n % 10 == 0)
                        {
                            acked.Add(id + "b");
                        }
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failures);
                    return;
                }
            }
        })).ToArray();

        await Poll.Until(() => acked.Count >= 3000, TimeSpan.FromSeconds(60), "3000 records acknowledged before the kill");
        await first.KillAsync();
        await Task.WhenAll(clients);

        Assert.Equal(137, first.ExitCode); // 128 + SIGKILL: no shutdown code ran
        Assert.True(failures > 0, "the kill should have hit requests in flight");

        // Power loss can leave half a frame at the end of the active segment (a SIGKILL cannot: the
        // kernel completes a write(2) it accepted). Append one, as a crash mid-write would leave it.
        var active = Directory.GetFiles(Path.Combine(data.Path, "segments", "crash"), "*.active").Single();
        var activeLength = new FileInfo(active).Length;
        var frame = new byte[RecordFrame.SizeOf(0, 64)];
        RecordFrame.Write(frame, 1, [], false, new byte[64]);
        await using (var stream = new FileStream(active, FileMode.Append))
        {
            await stream.WriteAsync(frame.AsMemory(0, 40));
        }

        environment["Logging__LogLevel__Ingest"] = "Information";
        await using var second = HostProcess.Start("Silo", environment);
        await second.WaitReadyAsync();

        Assert.Contains("torn tail of 40 bytes", second.Output);
        Assert.Equal(activeLength, new FileInfo(Path.ChangeExtension(active, ".seg")).Length);
        for (var i = 0; i < 20; i++)
        {
            var response = await second.Http.PostAsync("/v1/topics/crash", new StringContent($"{{\"id\":\"after:{i}\"}}"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        await second.TerminateAsync(TimeSpan.FromSeconds(30));
        var ids = StoredRecords.Read(data.Path, "crash").Select(r => JsonDocument.Parse(r.Value).RootElement.GetProperty("id").GetString()!).ToList();
        var missing = acked.Except(ids).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {acked.Count} acknowledged records are missing, e.g. {string.Join(", ", missing.Take(5))}");
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"after:{i}"), ids.Where(i => i.StartsWith("after:")));
    }
}
