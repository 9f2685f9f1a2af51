using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Process;

[Collection(nameof(ProcessTests))]
public sealed class ReplayProcessTests
{
    /// <summary>How long the settled silo is watched. An observation window, not a wait for an event: what is asserted is that nothing happens.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task a_finished_replay_stops_its_shipper_no_more_log_lines_and_the_silo_goes_back_to_idle_cpu()
    {
        await using var kafka = MockKafkaCluster.Start(brokers: 1);
        kafka.CreateTopic("replayed", partitions: 2);
        using var data = new TempDirectory("ingest-replay-process");
        var environment = SiloEnvironment.For(data.Path);
        environment["Kafka__Enabled"] = "true";
        environment["Kafka__BootstrapServers"] = kafka.BootstrapServers;
        environment["Ingest__RotateAfter"] = "00:00:01"; // sealed at once, so it is shipped and archived
        environment["Logging__LogLevel__Ingest"] = "Information";
        await using var silo = HostProcess.Start("Silo", environment);
        await silo.WaitReadyAsync();
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        var ledger = new Ledger();
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, "replayed", $"r-{i}", $"k{i % 4}", i));
        }

        await Poll.Until(() => StoredRecords.ArchivedSegments(data.Path, "replayed").Length > 0, TimeSpan.FromSeconds(60),
            "the shipped segment of 'replayed' to be archived");
        var started = await silo.Http.PostAsJsonAsync("/v1/admin/replay", new { topic = "replayed", from = from.ToString("o"), to = DateTimeOffset.UtcNow.AddMinutes(1).ToString("o") });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await Poll.Until(async () => (await silo.Http.GetFromJsonAsync<JsonElement>($"/v1/admin/replay/{id}")).GetProperty("state").GetString() == "done",
            TimeSpan.FromSeconds(60), $"replay {id} to report state 'done'");
        await Poll.Until(() => LinesAbout(silo, id) > 0, TimeSpan.FromSeconds(10), $"the log line that replay {id} finished");

        var linesAtDone = LinesAbout(silo, id);
        var resumesAtDone = Count(silo.Output, "resuming from checkpoint");
        // The looping shipper kept more than half a core busy for good; a stopped one lets the silo settle
        // to its idle cost (tens of ms of CPU per second) once start-up compilation is over.
        // A whole quiet window is asked for, not a single sample: a maintenance pass or a late JIT may land in one
        // window on a busy machine, but a looping shipper leaves none quiet.
        var quiet = TimeSpan.MaxValue;
        await Poll.Until(async () => (quiet = await CpuOverAsync(silo.Pid, Quiet)) < Quiet * 0.25,
            TimeSpan.FromSeconds(40), $"the silo's CPU to fall back to idle (under 25 % over {Quiet.TotalSeconds:0} s) after the replay finished");

        Assert.Equal(1, linesAtDone); // "Replay <id> of topic replayed finished", once
        Assert.Equal(linesAtDone, LinesAbout(silo, id));
        Assert.Equal(resumesAtDone, Count(silo.Output, "resuming from checkpoint"));
        Assert.True(quiet < Quiet * 0.25, $"the silo used {quiet.TotalMilliseconds:0} ms of CPU in {Quiet.TotalSeconds:0} s once the replay had finished");
        TestContext.Current.TestOutputHelper?.WriteLine($"after replay {id} finished: {quiet.TotalMilliseconds:0} ms CPU in {Quiet.TotalSeconds:0} s, no further log line");
    }

    private static int LinesAbout(HostProcess silo, string id) => Count(silo.Output, $"Replay {id} of topic replayed finished");

    private static int Count(string text, string fragment)
    {
        var count = 0;
        for (var at = text.IndexOf(fragment, StringComparison.Ordinal); at >= 0; at = text.IndexOf(fragment, at + fragment.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>CPU time the process used over <paramref name="window"/> (an observation window: the measurement is the point).</summary>
    private static async Task<TimeSpan> CpuOverAsync(int pid, TimeSpan window)
    {
        var before = CpuTime(pid);
        await Task.Delay(window);
        return CpuTime(pid) - before;
    }

    /// <summary>User plus system CPU time of a process, from /proc/&lt;pid&gt;/stat.</summary>
    internal static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]); // utime, stime (fields 14 and 15)
        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
    }
}
