using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Ingest.Tests.Infrastructure;

/// <summary>
/// Debian's headless Chromium, driven over the Chrome DevTools Protocol (a WebSocket and JSON
/// commands): navigate, evaluate JavaScript in the page, take screenshots. <c>./test.sh</c> installs it.
/// </summary>
public sealed partial class Chromium : IAsyncDisposable
{
    private readonly System.Diagnostics.Process _process;
    private readonly TempDirectory _profile;
    private readonly ClientWebSocket _socket = new();
    private int _nextId;

    private Chromium(System.Diagnostics.Process process, TempDirectory profile)
    {
        _process = process;
        _profile = profile;
    }

    public static async Task<Chromium> StartAsync()
    {
        var profile = new TempDirectory("chromium-profile");
        var start = new ProcessStartInfo("chromium")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile.Path}", "--window-size=1400,900", "about:blank" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("chromium could not be started (./test.sh installs it)");
        var browser = new Chromium(process, profile);
        var endpoint = await browser.ReadDevToolsEndpointAsync(TimeSpan.FromSeconds(30));
        using var http = new HttpClient { BaseAddress = new Uri($"http://{endpoint}") };
        // The page target that about:blank opened.
        var targets = JsonNode.Parse(await http.GetStringAsync("/json/list"))!.AsArray();
        var page = targets.First(t => t!["type"]!.GetValue<string>() == "page")!;
        await browser._socket.ConnectAsync(new Uri(page["webSocketDebuggerUrl"]!.GetValue<string>()), CancellationToken.None);
        await browser.SendAsync("Page.enable");
        return browser;
    }

    /// <summary>Loads <paramref name="url"/> and waits for its load event.</summary>
    public async Task NavigateAsync(Uri url)
    {
        _events.Clear();
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });
        await ReceiveUntilEventAsync("Page.loadEventFired");
    }

    /// <summary>Evaluates a JavaScript expression in the page and returns its value as JSON.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        return result["result"]?["value"];
    }

    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String(result["data"]!.GetValue<string>());
    }

    private readonly Queue<JsonNode> _events = new();

    private async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var reply = await ReceiveAsync(timeout.Token);
            if (reply["id"]?.GetValue<int>() == id)
            {
                if (reply["error"] is { } error)
                {
                    throw new InvalidOperationException($"{method} failed: {error.ToJsonString()}");
                }

                return reply["result"]!;
            }

            _events.Enqueue(reply);
        }
    }

    private async Task ReceiveUntilEventAsync(string name)
    {
        // Events that arrive while a command waits are queued; this drains them first.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            while (_events.Count > 0)
            {
                if (_events.Dequeue()["method"]?.GetValue<string>() == name)
                {
                    return;
                }
            }

            var message = await ReceiveAsync(timeout.Token);
            if (message["method"]?.GetValue<string>() == name)
            {
                return;
            }
        }
    }

    private async Task<JsonNode> ReceiveAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await _socket.ReceiveAsync(buffer, cancellationToken);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        return JsonNode.Parse(message.ToArray())!;
    }

    private async Task<string> ReadDevToolsEndpointAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (await _process.StandardError.ReadLineAsync(cancel.Token) is { } line)
        {
            var match = DevToolsLine().Match(line);
            if (match.Success)
            {
                // Keep draining stderr so the browser never blocks on a full pipe.
                _ = _process.StandardError.ReadToEndAsync();
                _ = _process.StandardOutput.ReadToEndAsync();
                return match.Groups["endpoint"].Value;
            }
        }

        throw new InvalidOperationException("chromium exited without announcing its DevTools endpoint");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            }
        }
        catch (WebSocketException)
        {
        }

        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _profile.Dispose();
    }

    [GeneratedRegex(@"DevTools listening on ws://(?<endpoint>[^/]+)/")]
    private static partial Regex DevToolsLine();
}
