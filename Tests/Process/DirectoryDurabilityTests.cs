using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Process;

/// <summary>
/// With Fsync durability a new segment, a sealed (renamed) segment and an archived (moved) segment must
/// survive power loss, so the directories holding them are fsync'd too. Checked from outside: the silo
/// runs under <c>strace</c> (installed by ./test.sh), which records every fsync with the path of its
/// file descriptor. <c>-ff</c> writes one log per thread: in a shared log a call that another thread
/// interrupts is split into "unfinished" and "resumed" lines, and its result is not next to its path.
/// </summary>
[Collection(nameof(ProcessTests))]
public sealed partial class DirectoryDurabilityTests
{
    [Fact]
    public async Task with_fsync_durability_creating_sealing_and_archiving_segments_fsyncs_their_directories()
    {
        using var data = new TempDirectory("ingest-dirsync");
        using var traceDirectory = new TempDirectory("ingest-strace");
        await using var kafka = MockKafkaCluster.Start(brokers: 1);
        kafka.CreateTopic("durable", partitions: 1);
        var trace = Path.Combine(traceDirectory.Path, "fsync");
        var port = Ports.Free();
        var start = new ProcessStartInfo("strace") { WorkingDirectory = Repo.HostDirectory("Silo") };
        foreach (var argument in new[] { "-ff", "-y", "--seccomp-bpf", "-e", "trace=fsync,fdatasync", "-o", trace, "dotnet", Repo.HostDll("Silo") })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        foreach (var (key, value) in SiloEnvironment.For(data.Path))
        {
            start.Environment[key] = value;
        }

        start.Environment["Ingest__Durability"] = "Fsync";
        start.Environment["Ingest__MaxSegmentBytes"] = "4096";
        start.Environment["Ingest__RetentionDays"] = "1";
        start.Environment["Kafka__Enabled"] = "true";
        start.Environment["Kafka__BootstrapServers"] = kafka.BootstrapServers;

        await using (var silo = HostProcess.Launch(start, port))
        {
            await silo.WaitReadyAsync(TimeSpan.FromSeconds(60));
            var ledger = new Ledger();
            for (var i = 0; i < 150; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, "durable", $"d{i}", null, i));
            }

            ledger.ReadAndAssertDelivered(kafka.BootstrapServers, "durable", TimeSpan.FromSeconds(30));
            await Poll.Until(() => Directory.Exists(Path.Combine(data.Path, "archive")) && Directory.GetFiles(Path.Combine(data.Path, "archive"), "*.seg", SearchOption.AllDirectories).Length >= 2,
                TimeSpan.FromSeconds(30), "shipped segments of 'durable' to be moved to the archive");
            // SIGTERM to the silo under strace (strace's child); strace exits with it, its log complete.
            using (var pkill = System.Diagnostics.Process.Start("pkill", ["-TERM", "-P", silo.Pid.ToString()])!)
            {
                await pkill.WaitForExitAsync();
            }

            await Poll.Until(() => silo.HasExited, TimeSpan.FromSeconds(45), "the silo (and strace) to exit after SIGTERM");
        }

        var fsyncs = new List<string>();
        foreach (var threadLog in Directory.GetFiles(traceDirectory.Path, "fsync.*"))
        {
            fsyncs.AddRange(FsyncPath().Matches(await File.ReadAllTextAsync(threadLog)).Select(m => m.Groups["path"].Value));
        }

        var topicDirectory = Path.Combine(data.Path, "segments", "durable");
        var segmentsCreated = Directory.GetFiles(Path.Combine(data.Path, "archive"), "*.seg", SearchOption.AllDirectories).Length
            + Directory.GetFiles(topicDirectory).Count(f => f.EndsWith(".seg", StringComparison.Ordinal) || f.EndsWith(".active", StringComparison.Ordinal));
        var topicDirectorySyncs = fsyncs.Count(p => p == topicDirectory);
        var archiveDirectorySyncs = fsyncs.Count(p => p.StartsWith(Path.Combine(data.Path, "archive"), StringComparison.Ordinal) && Directory.Exists(p));

        TestContext.Current.SendDiagnosticMessage($"{segmentsCreated} segments; fsyncs of the topic directory: {topicDirectorySyncs}, of archive directories: {archiveDirectorySyncs}, {fsyncs.Count} in all; archive ones: {string.Join(", ", fsyncs.Where(p => p.Contains("archive", StringComparison.Ordinal)))}");
        // Each segment's creation and its seal (a rename) fsync the topic directory; an archive move fsyncs the archive directory.
        Assert.True(topicDirectorySyncs >= 2 * (segmentsCreated - 1), $"{segmentsCreated} segments, but the topic directory was fsync'd {topicDirectorySyncs} times");
        Assert.True(archiveDirectorySyncs >= 1, $"the archive directory was fsync'd {archiveDirectorySyncs} times after moves into it");
        Assert.Contains(fsyncs, p => p.StartsWith(topicDirectory + "/", StringComparison.Ordinal) && p.EndsWith(".active", StringComparison.Ordinal)); // and the records themselves
    }

    // e.g.  fsync(57</tmp/ingest-dirsync-.../segments/durable>) = 0
    [GeneratedRegex(@"f(?:data)?sync\(\d+<(?<path>[^>]+)>\)\s+=\s+0")]
    private static partial Regex FsyncPath();
}
