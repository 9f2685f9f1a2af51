using System.Net;
using Ingest.DevBroker;
using Ingest.Segments;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Process;

[Collection(nameof(ProcessTests))]
public sealed class ForwarderCrashTests
{
    private const int Window = 1000;

    [Fact]
    public async Task a_silo_killed_mid_forwarding_resumes_from_its_checkpoint_loses_nothing_and_duplicates_stay_within_the_window()
    {
        // The broker lives in the test process: it outlives the silo. A round-trip delay keeps a
        // backlog on disk, so the kill lands while records are being shipped.
        await using var kafka = MockKafkaCluster.Start(brokers: 1);
        kafka.CreateTopic("killed", partitions: 4);
        kafka.SetRoundTripTime(-1, 100);
        using var data = new TempDirectory("ingest-forwarder-crash");
        var environment = SiloEnvironment.For(data.Path);
        environment["Kafka__Enabled"] = "true";
        environment["Kafka__BootstrapServers"] = kafka.BootstrapServers;
        environment["Kafka__MaxInFlightRecords"] = Window.ToString();
        var topicDirectory = Path.Combine(data.Path, "segments", "killed");

        await using (var first = HostProcess.Start("Silo", environment))
        {
            await first.WaitReadyAsync();
            var ledger = new Ledger();
            await Task.WhenAll(Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
            {
                for (var b = 0; b < 50; b++)
                {
                    var records = Enumerable.Range(0, 100).Select(r => ($"c{c}-{b}-{r}", b * 100 + r)).ToList();
                    Assert.Equal(HttpStatusCode.Accepted, await ledger.PostBatch(first.Http, "killed", records, $"k{c}"));
                }
            })));
            Assert.Equal(20_000, ledger.Count);

            await Poll.Until(() => Checkpoint.Load(topicDirectory) is { Offset: > SegmentFile.HeaderSize }, TimeSpan.FromSeconds(60), "the forwarder to checkpoint some shipped records");
            await first.KillAsync();

            Assert.Equal(137, first.ExitCode);
            var atKill = Checkpoint.Load(topicDirectory)!.Value;
            var unshipped = Directory.GetFiles(topicDirectory, "*.active").Sum(f => new FileInfo(f).Length) - atKill.Offset;
            Assert.True(unshipped > 0, $"the kill should land mid-forwarding (checkpoint {atKill})");

            kafka.SetRoundTripTime(-1, 0);
            await using var second = HostProcess.Start("Silo", environment);
            await second.WaitReadyAsync();

            var (_, duplicates) = ledger.ReadAndAssertDelivered(kafka.BootstrapServers, "killed", TimeSpan.FromSeconds(120));
            Assert.InRange(duplicates, 0, Window);
            // The recovered segment was shipped completely, then deleted.
            await Poll.Until(() => Directory.GetFiles(topicDirectory, "*.seg").Length == 0, TimeSpan.FromSeconds(30), "the recovered segment to be shipped and deleted");
            TestContext.Current.TestOutputHelper?.WriteLine($"forwarder crash: 20000 records, {duplicates} duplicates (window {Window}), checkpoint at kill {atKill}");
        }
    }
}
