using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Process;

namespace Ingest.Tests.Docs;

/// <summary>
/// The README's shell blocks are what a new user runs first, so they run here exactly as written: in
/// order, in one shell, in a clean copy of the repository (its own build, its own Silo/data), on the
/// README's own ports. A block edited into something that fails, or that prints other than the
/// <c># →</c> lines it shows, fails this test.
/// </summary>
[Collection(nameof(ProcessTests))]
public sealed partial class ReadmeTests
{
    /// <summary>The ports the README's commands use; they must be free when the test starts.</summary>
    public static readonly int[] ReadmePorts = [6379, 8080, 8081, 8090, 11111, 11112, 19092, 30000, 30001];

    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(12);

    [Fact]
    public void every_shell_block_of_the_readme_is_run_by_the_readme_test_or_says_why_not()
    {
        var blocks = ReadmeBlock.Parse(File.ReadAllText(Path.Combine(Repo.Root, "README.md")), out var problems);

        Assert.Empty(problems);
        var run = blocks.Where(b => b.NotTested is null).ToList();
        Assert.Equal(run.Count, run.Select(b => b.Name).Distinct().Count());
        Assert.All(blocks.Where(b => b.NotTested is not null), b => Assert.False(string.IsNullOrWhiteSpace(b.NotTested), $"block at line {b.Line} needs a reason"));
        var servers = new HashSet<string>();
        foreach (var block in run)
        {
            Assert.All(block.Stops, stop => Assert.True(servers.Contains(stop), $"block {block.Name} stops '{stop}', which is no server started before it"));
            if (block.Server is not null)
            {
                Assert.Single(block.Code, line => line.Trim().Length > 0 && !line.TrimStart().StartsWith('#'));
                servers.Add(block.Name);
            }
        }

        Assert.True(run.Count >= 10, $"only {run.Count} blocks are run");
        Assert.True(run.Sum(b => b.Expected.Count) >= 15, "the README shows outputs (# → …) that the test checks");
    }

    [Fact]
    public async Task the_readme_blocks_run_in_order_in_a_clean_copy_and_print_what_the_readme_shows()
    {
        foreach (var port in ReadmePorts)
        {
            Assert.True(IsFree(port), $"port {port}, which the README's commands use, is taken by another program");
        }

        using var copy = new CleanCopy("ingest-readme");
        using var logs = new TempDirectory("ingest-readme-logs");
        var blocks = ReadmeBlock.Parse(File.ReadAllText(Path.Combine(copy.Path, "README.md")), out _).Where(b => b.NotTested is null).ToList();
        var script = Path.Combine(logs.Path, "readme.sh");
        File.WriteAllText(script, ReadmeBlock.Script(blocks, logs.Path));

        var start = new ProcessStartInfo("setsid") { WorkingDirectory = copy.Path, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("bash");
        start.ArgumentList.Add(script);
        start.Environment.Clear();
        foreach (var name in new[] { "PATH", "HOME", "USER", "TMPDIR" })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                start.Environment[name] = value;
            }
        }

        start.Environment["LANG"] = "C.UTF-8";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1"; // no build nodes outliving the test in the copy
        // Each grain's deactivation at shutdown is logged (at debug, never an alarm), so a slow stop names the grain that held it.
        start.Environment["Logging__LogLevel__Orleans.Grain"] = "Debug";

        var output = new System.Text.StringBuilder();
        using var shell = System.Diagnostics.Process.Start(start)!;
        shell.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        shell.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        shell.BeginOutputReadLine();
        shell.BeginErrorReadLine();
        try
        {
            using var timeout = new CancellationTokenSource(Deadline);
            try
            {
                await shell.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"the README's blocks did not finish within {Deadline.TotalMinutes:0} minutes:\n{Tail(output)}\n{ServerLogs(logs.Path)}");
            }

            shell.WaitForExit();
            var text = output.ToString();
            Assert.True(shell.ExitCode == 0, $"the README's blocks failed (exit {shell.ExitCode}) in block {LastBlock(text)}:\n{Tail(output)}\n{ServerLogs(logs.Path)}");
            var sections = Sections(text);
            foreach (var block in blocks)
            {
                Assert.True(sections.TryGetValue(block.Name, out var printed), $"block {block.Name} did not run:\n{Tail(output)}");
                var at = 0;
                foreach (var expected in block.Expected)
                {
                    var match = ReadmeBlock.Pattern(expected).Match(printed, at);
                    Assert.True(match.Success, $"block {block.Name} (README.md line {block.Line}) should print\n  {expected}\nbut printed:\n{printed}");
                    at = match.Index + match.Length;
                }
            }

            // The single-node silo and the Api, through everything the README does with them, warn about nothing.
            foreach (var server in blocks.Where(b => b.Server is not null))
            {
                var log = File.ReadAllLines(Path.Combine(logs.Path, server.Name + ".log"));
                var alarms = log.Select((line, i) => (line, i)).Where(l => l.line.StartsWith("warn:") || l.line.StartsWith("fail:") || l.line.StartsWith("crit:"))
                    .Select(l => string.Join('\n', log.Skip(l.i).Take(3))).ToList();
                Assert.True(alarms.Count == 0, $"server {server.Name} logged warnings or errors:\n{string.Join('\n', alarms)}{SlowDeactivations(log)}");
            }

            TestContext.Current.TestOutputHelper?.WriteLine($"README: {blocks.Count} blocks run, {blocks.Sum(b => b.Expected.Count)} outputs checked");
        }
        finally
        {
            await StopEverythingAsync(shell);
        }
    }

    /// <summary>The grains whose deactivation at shutdown returned last (or never): what a slow 'GrainDeactivation' stage waited for.</summary>
    private static string SlowDeactivations(string[] log)
    {
        var pending = new List<string>();
        var returned = new List<string>();
        foreach (var line in log)
        {
            if (GrainOf(line, "About to call OnDeactivateAsync for '") is { } started)
            {
                pending.Add(started);
            }
            else if (GrainOf(line, "Returned from calling '") is { } done)
            {
                pending.Remove(done);
                returned.Add(done);
            }
        }

        return returned.Count + pending.Count == 0 ? string.Empty
            : $"\nlast deactivations to return: {string.Join(", ", returned.TakeLast(3))}; never returned: {(pending.Count == 0 ? "none" : string.Join(", ", pending))}";

        static string? GrainOf(string line, string marker)
        {
            var at = line.IndexOf(marker, StringComparison.Ordinal);
            if (at < 0)
            {
                return null;
            }

            var grain = line[(at + marker.Length)..];
            var end = grain.IndexOf('@', StringComparison.Ordinal);
            return end > 0 ? grain[..end] : grain;
        }
    }

    /// <summary>Stops what the blocks left running: the shell's process group, and a daemonized redis-server on the README's port.</summary>
    private static async Task StopEverythingAsync(System.Diagnostics.Process shell)
    {
        _ = KillGroup(shell.Id, 15);
        using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            try
            {
                await shell.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _ = KillGroup(shell.Id, 9);
        if (!IsFree(6379))
        {
            using var redis = System.Diagnostics.Process.Start(new ProcessStartInfo("redis-cli", "-p 6379 shutdown nosave") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            await redis.WaitForExitAsync();
        }
    }

    private static Dictionary<string, string> Sections(string output)
    {
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        string? name = null;
        var text = new System.Text.StringBuilder();
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("@@block ", StringComparison.Ordinal) || line.StartsWith("@@end", StringComparison.Ordinal))
            {
                if (name is not null)
                {
                    sections[name] = text.ToString();
                }

                name = line.StartsWith("@@block ", StringComparison.Ordinal) ? line["@@block ".Length..].Trim() : null;
                text.Clear();
                continue;
            }

            text.AppendLine(line);
        }

        return sections;
    }

    private static string LastBlock(string output) =>
        output.Split('\n').LastOrDefault(line => line.StartsWith("@@block ", StringComparison.Ordinal))?["@@block ".Length..].Trim() ?? "(before the first)";

    private static string Tail(System.Text.StringBuilder output)
    {
        lock (output)
        {
            var lines = output.ToString().Split('\n');
            return string.Join('\n', lines.TakeLast(150));
        }
    }

    private static string ServerLogs(string directory) =>
        string.Join('\n', Directory.GetFiles(directory, "*.log").Select(log => $"--- {Path.GetFileName(log)} (last lines):\n{string.Join('\n', File.ReadLines(log).TakeLast(40))}"));

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int KillGroup(int processGroup, int signal) => Kill(-processGroup, signal);

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
