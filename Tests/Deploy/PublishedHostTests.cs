using System.Diagnostics;
using System.Net;
using Ingest.DevBroker;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Process;
using YamlDotNet.RepresentationModel;

namespace Ingest.Tests.Deploy;

/// <summary>
/// A Docker build context made as <c>docker build</c> makes it: every file of this working tree (build
/// output and local data included, as a developer has them) except what <c>.dockerignore</c> excludes.
/// </summary>
public sealed class BuildContext : IDisposable
{
    private readonly TempDirectory _directory = new("ingest-context");

    public BuildContext()
    {
        new DockerIgnore(System.IO.Path.Combine(Repo.Root, ".dockerignore")).CopyContext(Repo.Root, _directory.Path);
        Files = [.. Directory.EnumerateFiles(_directory.Path, "*", SearchOption.AllDirectories).Select(f => System.IO.Path.GetRelativePath(_directory.Path, f).Replace('\\', '/'))];
    }

    public string Path => _directory.Path;

    /// <summary>The context as sent, before any build ran in it.</summary>
    public IReadOnlyList<string> Files { get; }

    public void Dispose() => _directory.Dispose();
}

/// <summary>
/// No Docker engine or systemd runs here, so the deployment files are executed the closest real way:
/// their build lines (<c>RUN dotnet publish …</c>, the unit's install lines) run as written in a build
/// context, and the published host is started exactly as the file says (<c>WORKDIR</c>/<c>ENV</c>/
/// <c>ENTRYPOINT</c>; <c>WorkingDirectory</c>/<c>EnvironmentFile</c>/<c>Environment</c>/<c>ExecStart</c>).
/// Only absolute paths move into temporary folders and ports onto free loopback ports.
/// </summary>
[Collection(nameof(ProcessTests))]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PublishedHostTests(BuildContext context) : IClassFixture<BuildContext>
{
    private static string DeployFile(params string[] parts) => Path.Combine([Repo.Root, "deploy", .. parts]);

    [Fact]
    public void the_build_context_leaves_out_build_output_local_data_and_history()
    {
        var files = context.Files;

        Assert.DoesNotContain(files, f => f.Split('/').Any(part => part is "bin" or "obj" or ".git" or "TestResults"));
        Assert.DoesNotContain(files, f => f.StartsWith("Silo/data", StringComparison.Ordinal) || f.StartsWith("data", StringComparison.Ordinal));
        Assert.Contains("Silo/Silo.csproj", files);
        Assert.Contains("Ingest.sln", files);
        var bytes = files.Sum(f => new FileInfo(Path.Combine(Repo.Root, f)).Length);
        Assert.True(bytes < 32 * 1024 * 1024, $"the build context holds {bytes / 1024 / 1024} MiB in {files.Count} files");
    }

    [Fact]
    public async Task the_silo_and_api_images_publish_as_their_dockerfiles_say_and_start_from_their_entrypoints()
    {
        await using var kafka = MockKafkaCluster.Start(brokers: 1);
        kafka.CreateTopic("imaged", partitions: 2);
        using var work = new TempDirectory("ingest-image");

        var silo = Dockerfile.Load(DeployFile("docker", "Dockerfile.silo"));
        var siloApp = Publish(silo, Path.Combine(work.Path, "silo-app"));
        var data = Path.Combine(work.Path, "data"); // the image's VOLUME /data
        var ports = (Http: Ports.Free(), Silo: Ports.Free(), Gateway: Ports.Free());
        var environment = Moved(silo.Environment(), new() { ["/data"] = data });
        // Without brokers the image refuses to start: it never ships to an in-memory broker.
        await using (var refused = StartEntrypoint(silo, siloApp, WithPorts(environment, ports)))
        {
            Assert.Equal(ExitCodes.Usage, await refused.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("Kafka:BootstrapServers is not set", refused.Output);
        }

        environment["Kafka__BootstrapServers"] = kafka.BootstrapServers; // what docker-compose.yml and the k8s ConfigMap set
        await using var siloHost = StartEntrypoint(silo, siloApp, WithPorts(environment, ports));
        await siloHost.WaitReadyAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await siloHost.Http.PostAsync("/v1/topics/imaged", new StringContent("from-the-silo-image"))).StatusCode);
        Assert.Equal(0, await ComposeHealthcheck(ports.Http));
        Assert.NotEqual(0, await ComposeHealthcheck(Ports.Free())); // the check can fail: nothing listens there

        var api = Dockerfile.Load(DeployFile("docker", "Dockerfile.api"));
        var apiApp = Publish(api, Path.Combine(work.Path, "api-app"));
        var apiEnvironment = api.Environment();
        var apiPort = Ports.Free();
        apiEnvironment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{apiPort}";
        apiEnvironment["Cluster__GatewayPort"] = ports.Gateway.ToString(); // one silo on localhost, no Redis
        await using var apiHost = StartEntrypoint(api, apiApp, apiEnvironment, apiPort);
        await apiHost.WaitReadyAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await apiHost.Http.PostAsync("/v1/topics/imaged", new StringContent("from-the-api-image"))).StatusCode);

        List<string> consumed = [];
        await Poll.Until(async () => (consumed = await Kcat.ConsumeAsync(kafka.BootstrapServers, "imaged")).Count >= 2, TimeSpan.FromSeconds(60),
            "both records (through the silo image and the Api image) in Kafka");
        Assert.Equal(["\tfrom-the-api-image", "\tfrom-the-silo-image"], consumed.Order());
    }

    [Fact]
    public async Task the_systemd_unit_installs_with_its_own_lines_and_its_exec_start_ships_a_record()
    {
        await using var kafka = MockKafkaCluster.Start(brokers: 1);
        kafka.CreateTopic("unit", partitions: 2);
        using var work = new TempDirectory("ingest-unit");
        var unitPath = DeployFile("systemd", "ingest-silo.service");
        var moves = new Dictionary<string, string>
        {
            ["/opt/ingest/silo"] = Path.Combine(work.Path, "opt-ingest-silo"),
            ["/etc/ingest"] = Path.Combine(work.Path, "etc-ingest"),
            ["/etc/systemd/system"] = Path.Combine(work.Path, "etc-systemd-system"),
            ["/var/lib/ingest"] = Path.Combine(work.Path, "var-lib-ingest"),
        };

        // What a host has before the install: systemd's unit directory; and what systemd makes before the
        // start (StateDirectory=ingest, StateDirectoryMode=0700).
        Directory.CreateDirectory(moves["/etc/systemd/system"]);
        Directory.CreateDirectory(moves["/var/lib/ingest"], UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var install = File.ReadLines(unitPath).Where(l => l.StartsWith("#   $ ", StringComparison.Ordinal)).Select(l => l["#   $ ".Length..]).ToList();
        Assert.Contains(install, l => l.Contains("dotnet publish"));
        // systemctl needs a running systemd: here the test starts ExecStart itself, as systemd would.
        foreach (var line in install.Where(l => !l.Contains("systemctl")))
        {
            await RunShell(MovePaths(line.Replace("sudo ", ""), moves), context.Path);
        }

        var installedUnit = Path.Combine(moves["/etc/systemd/system"], "ingest-silo.service");
        Assert.Equal(File.ReadAllText(unitPath), File.ReadAllText(installedUnit));
        await RunShell($"systemd-analyze verify '{installedUnit}'", context.Path); // ./test.sh installs it

        var service = Unit.Service(installedUnit);
        var environmentFile = MovePaths(service["EnvironmentFile"].Single(), moves);
        // "then set your Kafka brokers in /etc/ingest/silo.env"
        var lines = File.ReadAllLines(environmentFile).Select(l => l.StartsWith("Kafka__BootstrapServers=", StringComparison.Ordinal) ? $"Kafka__BootstrapServers={kafka.BootstrapServers}" : l);
        File.WriteAllLines(environmentFile, lines);
        var environment = Unit.EnvironmentFile(environmentFile);
        foreach (var assignment in service["Environment"])
        {
            var equals = assignment.IndexOf('=');
            environment[assignment[..equals]] = MovePaths(assignment[(equals + 1)..], moves);
        }

        var ports = (Http: Ports.Free(), Silo: Ports.Free(), Gateway: Ports.Free());
        var command = MovePaths(service["ExecStart"].Single(), moves).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var start = new ProcessStartInfo(command[0]) { WorkingDirectory = MovePaths(service["WorkingDirectory"].Single(), moves) };
        foreach (var argument in command[1..])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in WithPorts(environment, ports))
        {
            start.Environment[key] = value;
        }

        await using var silo = HostProcess.Launch(start, ports.Http);
        await silo.WaitReadyAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync("/v1/topics/unit", new StringContent("from-the-unit"))).StatusCode);
        List<string> consumed = [];
        await Poll.Until(async () => (consumed = await Kcat.ConsumeAsync(kafka.BootstrapServers, "unit")).Count > 0, TimeSpan.FromSeconds(60), "the record in Kafka");
        Assert.Equal("\tfrom-the-unit", consumed.Single());
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(moves["/var/lib/ingest"], "segments", "unit"))); // the data went where the unit says
    }

    /// <summary>Runs the build stage's RUN lines in the build context, its output path moved to <paramref name="output"/>.</summary>
    private string Publish(Dockerfile file, string output)
    {
        var (stage, source, _) = file.CopyFrom();
        Assert.Equal("/src", file.WorkDir(stage)); // COPY . . puts the context there
        var moves = new Dictionary<string, string> { [source] = output, [file.WorkDir(stage)] = context.Path };
        foreach (var run in file.Runs(stage))
        {
            RunShell(MovePaths(run, moves), context.Path).GetAwaiter().GetResult();
        }

        Assert.True(File.Exists(Path.Combine(output, file.Entrypoint()[^1])), $"{file.Entrypoint()[^1]} is not in the publish output {output}");
        return output; // COPY --from=build /app . into WORKDIR: the published folder is the working directory
    }

    private static HostProcess StartEntrypoint(Dockerfile file, string workingDirectory, Dictionary<string, string> environment, int? httpPort = null)
    {
        var entrypoint = file.Entrypoint();
        var start = new ProcessStartInfo(entrypoint[0]) { WorkingDirectory = workingDirectory };
        foreach (var argument in entrypoint[1..])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var port = httpPort ?? int.Parse(new Uri(environment["ASPNETCORE_URLS"]).Port.ToString());
        return HostProcess.Launch(start, port);
    }

    private static Dictionary<string, string> WithPorts(Dictionary<string, string> environment, (int Http, int Silo, int Gateway) ports) =>
        new(environment)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports.Http}",
            ["Cluster__SiloPort"] = ports.Silo.ToString(),
            ["Cluster__GatewayPort"] = ports.Gateway.ToString(),
        };

    private static Dictionary<string, string> Moved(Dictionary<string, string> environment, Dictionary<string, string> moves) =>
        environment.ToDictionary(e => e.Key, e => MovePaths(e.Value, moves));

    /// <summary>The compose file's silo healthcheck (<c>test: [CMD, …]</c>) run as written, aimed at <paramref name="port"/>.</summary>
    private static async Task<int> ComposeHealthcheck(int port)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(DeployFile("docker-compose.yml"))));
        var test = ((YamlSequenceNode)yaml.Documents[0].RootNode["x-silo"]["healthcheck"]["test"]).Children.Select(c => c.ToString()).ToList();
        Assert.Equal("CMD", test[0]);
        var start = new ProcessStartInfo(test[1]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in test.Skip(2))
        {
            start.ArgumentList.Add(argument.Replace("127.0.0.1/8080", $"127.0.0.1/{port}"));
        }

        using var check = System.Diagnostics.Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await check.WaitForExitAsync(timeout.Token);
        return check.ExitCode;
    }

    private static string MovePaths(string text, Dictionary<string, string> moves)
    {
        foreach (var (from, to) in moves.OrderByDescending(m => m.Key.Length))
        {
            text = System.Text.RegularExpressions.Regex.Replace(text, $@"(?<![\w/]){System.Text.RegularExpressions.Regex.Escape(from)}(?=/|\s|$|')", to.Replace("$", "$$"));
        }

        return text;
    }

    private static async Task RunShell(string command, string directory)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"`{command}` exited {process.ExitCode}:\n{await output}\n{error}");
    }
}

/// <summary>The settings of a systemd unit file that say how its service starts.</summary>
public static class Unit
{
    /// <summary>The [Service] section: each key with its values in order.</summary>
    public static Dictionary<string, List<string>> Service(string path)
    {
        var settings = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var section = "";
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line;
            }
            else if (section == "[Service]" && line.Length > 0 && !line.StartsWith('#') && line.Contains('='))
            {
                var equals = line.IndexOf('=');
                var key = line[..equals];
                if (!settings.TryGetValue(key, out var values))
                {
                    settings[key] = values = [];
                }

                values.Add(line[(equals + 1)..]);
            }
        }

        return settings;
    }

    /// <summary>An EnvironmentFile: KEY=value lines; comments and blank lines skipped.</summary>
    public static Dictionary<string, string> EnvironmentFile(string path) =>
        File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains('='))
            .ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..], StringComparer.Ordinal);
}
