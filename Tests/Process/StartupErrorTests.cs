using Ingest.Api.Hosting;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Process;

/// <summary>
/// What an operator sees when a start is refused: one line that names the setting (or what is taken) and
/// what to do, a documented exit code, and no stack trace.
/// </summary>
[Collection(nameof(ProcessTests))]
public sealed class StartupErrorTests
{
    [Theory]
    [InlineData("Silo", "Ingest__Durability", "fsnyc", "invalid setting: Ingest:Durability='fsnyc' is not valid: use one of Flush, Fsync.")]
    [InlineData("Silo", "Ingest__MaxDiskBytes", "10GB", "invalid setting: Ingest:MaxDiskBytes='10GB' is not valid: use a whole number.")]
    [InlineData("Silo", "Ingest__RetentionDays", "-1", "invalid setting: Ingest:RetentionDays must be between 0 and 3650 (was -1).")]
    [InlineData("Silo", "Ingest__TopicMode", "closed", "invalid setting: Ingest:TopicMode must be 'open' or 'allowList' (was 'closed').")]
    [InlineData("Silo", "Ingest__Shards__hot", "0", "invalid setting: the cluster configuration these settings seed is invalid: topics.hot.shards must be between 1 and 256 (was 0).")]
    [InlineData("Silo", "Kafka__ProducerSettings__acks", "1", "invalid setting: the cluster configuration these settings seed is invalid: kafka.producerSettings.acks cannot be set: idempotence, acks=all and the broker list (kafka.bootstrapServers) are fixed by Ingest.")]
    [InlineData("Api", "Cluster__ResponseTimeout", "soon", "invalid setting: Cluster:ResponseTimeout='soon' is not valid: use a duration such as 00:00:05 (hh:mm:ss) or 1.00:00:00 (one day).")]
    [InlineData("Api", "Ingest__MaxRequestBytes", "10", "invalid setting: Ingest:MaxRequestBytes (10) must be at least Ingest:MaxRecordBytes (1048576).")]
    public async Task a_mistyped_setting_stops_the_host_with_exit_code_2_and_one_line_naming_it(string project, string setting, string value, string line)
    {
        using var data = new TempDirectory("ingest-bad-setting");
        var environment = SiloEnvironment.For(data.Path);
        environment[setting] = value;
        await using var host = HostProcess.Start(project, environment);

        var exit = await host.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Equal(line, host.Output.Trim());
    }

    [Fact]
    public async Task a_silo_pointed_at_a_data_directory_another_silo_holds_exits_4_saying_so()
    {
        using var data = new TempDirectory("ingest-locked");
        await using var first = HostProcess.Start("Silo", SiloEnvironment.For(data.Path));
        await first.WaitReadyAsync();
        await using var second = HostProcess.Start("Silo", SiloEnvironment.For(data.Path));

        var exit = await second.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(ExitCodes.ResourceInUse, exit);
        Assert.Contains($"The data directory {data.Path} is in use by another process (pid {first.Pid})", second.Output);
        Assert.DoesNotContain("   at ", second.Output); // no stack trace
        Assert.DoesNotContain("fail:", second.Output);
    }

    [Fact]
    public async Task a_node_with_the_development_broker_forbidden_and_no_brokers_refuses_to_start()
    {
        using var data = new TempDirectory("ingest-no-brokers");
        var environment = SiloEnvironment.For(data.Path);
        environment["Kafka__Enabled"] = "true";
        environment["DevKafka__Enabled"] = "false";
        await using var silo = HostProcess.Start("Silo", environment);

        var exit = await silo.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("invalid setting: Kafka:BootstrapServers is not set, and DevKafka:Enabled=false forbids the in-memory development broker", silo.Output);
        Assert.DoesNotContain("   at ", silo.Output);
    }
}
