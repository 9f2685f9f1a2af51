using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace Ingest.Tests.Infrastructure;

/// <summary>
/// A Silo or Api host started as a separate process from its build output, as an operator would run
/// it, with settings passed through the environment. Output is captured for assertions.
/// </summary>
public sealed partial class HostProcess : IAsyncDisposable
{
    private readonly System.Diagnostics.Process _process;
    private readonly StringBuilder _output = new();

    private HostProcess(System.Diagnostics.Process process, int httpPort, string httpHost = "localhost")
    {
        _process = process;
        HttpPort = httpPort;
        Http = new HttpClient { BaseAddress = new Uri($"http://{httpHost}:{httpPort}"), Timeout = TimeSpan.FromSeconds(15) };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private bool _disposed;

    public int HttpPort { get; }

    public HttpClient Http { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <c>dotnet Ingest.{project}.dll</c> in its build directory; on a host of a <see cref="TestNetwork"/>
    /// when <paramref name="host"/> is given (serving HTTP on that host's address).
    /// </summary>
    public static HostProcess Start(string project, IDictionary<string, string> environment, int? httpPort = null, IEnumerable<string>? arguments = null, NetHost? host = null)
    {
        var port = httpPort ?? Ports.Free();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Repo.HostDirectory(project),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Repo.HostDll(project));
        foreach (var argument in arguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }

        var httpHost = host?.Address.ToString() ?? "127.0.0.1";
        start.Environment["ASPNETCORE_URLS"] = $"http://{httpHost}:{port}";
        start.Environment["Logging__LogLevel__Polly"] = "Error";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        if (host is not null)
        {
            return new HostProcess(System.Diagnostics.Process.Start(TestNetwork.InHost(host, start))!, port, httpHost);
        }

        return Launch(start, port);
    }

    /// <summary>Starts any command that serves HTTP on <paramref name="httpPort"/> (e.g. <c>dotnet run</c>).</summary>
    public static HostProcess Launch(ProcessStartInfo start, int httpPort)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        return new HostProcess(System.Diagnostics.Process.Start(start)!, httpPort);
    }

    public Task WaitReadyAsync(TimeSpan? timeout = null) =>
        Poll.Until(
            async () =>
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"process exited with {_process.ExitCode} before it was ready:\n{Output}");
                }

                try
                {
                    return (await Http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            timeout ?? TimeSpan.FromSeconds(90),
            $"process {_process.Id} to answer 200 on /readyz");

    /// <summary>Waits for the process to end on its own (a refused start, say) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"process {_process.Id} did not exit within {timeout.TotalSeconds:0} s:\n{Output}");
        }

        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: the graceful stop an orchestrator sends.</summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }

        _ = SendSignal(_process.Id, 15);
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
