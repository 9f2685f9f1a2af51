using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

// Usage: LoadGen <url> <rate req/s> <seconds> <connections> <body-file> [content-type]
// Open loop: request k is due at start + k/rate whatever happened before it; its latency runs from
// that due time to the answer, so a server that falls behind shows its queue in the latency instead
// of slowing the load down (no coordinated omission). One pacing thread sends each request at its due
// time on an idle keep-alive HTTP/1.1 connection (opening one, up to <connections>, when none is idle),
// and the answers are read on the thread pool, which hands the connection back: no timer per request,
// so the generator is not late because its timers are. svc_* percentiles run from the actual send: the
// server's own time. late_* percentiles are the generator's lateness (due time to send): near zero
// while a connection is idle at each due time; it grows only when all <connections> wait on the server
// (the server's queue, then, which the due-time figure rightly includes) or when this process lacks CPU.
// Plain sockets (an HttpClient costs the shared cores more than the server under test). Prints one
// line of key=value pairs. Where lateness comes from: waited_for_connection (requests that found every
// connection waiting on the server), late_over_5ms_before_send (requests whose pacing thread itself ran
// more than 5 ms after the due time: this process lacked its CPU), sends_over_5ms, and the GC's pauses.
// With LOADGEN_TOPICS=N and a URL holding {topic}, request k goes to topic t-(k mod N) (a trickle over
// many topics); LOADGEN_ACCEPTED=<file> then receives "topic accepted" lines, one per topic.
// With LOADGEN_RETRY_AFTER=1 each connection is a client that honours Retry-After: answered 503 or 429 with
// Retry-After: N, it rests N seconds before it sends again, and a request due while every connection is
// busy or resting is deferred by its client (deferred=: not sent, as a client that keeps it for later would).
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: LoadGen <url> <rate> <seconds> <connections> <body-file> [content-type]");
    return 2;
}

var inv = System.Globalization.CultureInfo.InvariantCulture;
var url = new Uri(args[0]);
var rate = double.Parse(args[1], inv);
var seconds = double.Parse(args[2], inv);
var maxConnections = int.Parse(args[3], inv);
var body = File.ReadAllBytes(args[4]);
var contentType = args.Length > 5 ? args[5] : "application/json";
var total = (long)(rate * seconds);
var topics = int.TryParse(Environment.GetEnvironmentVariable("LOADGEN_TOPICS"), out var n) && n > 0 ? n : 1;
var path = Uri.UnescapeDataString(url.PathAndQuery);
var requests = Enumerable.Range(0, topics).Select(t => Encoding.ASCII.GetBytes(
    $"POST {path.Replace("{topic}", $"t-{t}")} HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\n\r\n")
    .Concat(body).ToArray()).ToArray();

var honourRetryAfter = Environment.GetEnvironmentVariable("LOADGEN_RETRY_AFTER") == "1";
var run = new Run(total, topics);
var idle = new ConcurrentStack<Connection>();
var opened = 0;
long unsent = 0, deferred = 0, noIdleConnection = 0, slowSends = 0, pacerLate = 0;
// A generator that cannot keep up stops at 1.5x the planned time; what it never sent is reported.
var cutoff = seconds * 1.5 + 2;
var clock = Stopwatch.StartNew();
var pacer = new Thread(() =>
{
    for (long k = 0; k < total; k++)
    {
        var due = k / rate;
        WaitUntil(clock, due);
        if (clock.Elapsed.TotalSeconds - due > 0.005)
        {
            pacerLate++;
        }
        Connection? connection;
        var waitedForConnection = false;
        while (!idle.TryPop(out connection))
        {
            if (opened < maxConnections)
            {
                opened++;
                connection = new Connection(url, run, idle, clock, honourRetryAfter);
                break;
            }

            if (honourRetryAfter)
            {
                break; // every client is busy or resting: this one keeps its request for later
            }

            if (!waitedForConnection)
            {
                waitedForConnection = true;
                noIdleConnection++;
            }

            Thread.Yield(); // every connection waits on the server: this request is late, and counted so
        }

        if (connection is null)
        {
            deferred++;
            run.Unsent(k);
            continue;
        }

        if (clock.Elapsed.TotalSeconds > cutoff)
        {
            unsent = total - k;
            idle.Push(connection);
            for (var j = k; j < total; j++)
            {
                run.Unsent(j);
            }

            break;
        }

        run.Started();
        var before = clock.Elapsed.TotalSeconds;
        _ = connection.SendAsync(k, due, requests[k % topics]);
        var took = clock.Elapsed.TotalSeconds - before;
        if (took > 0.005)
        {
            slowSends++;
        }
    }

    run.AllStarted();
}) { IsBackground = true, Name = "pacer", Priority = ThreadPriority.Highest };
pacer.Start();
await run.Finished;
var elapsed = clock.Elapsed.TotalSeconds;
foreach (var connection in idle)
{
    connection.Dispose();
}

if (Environment.GetEnvironmentVariable("LOADGEN_ACCEPTED") is { Length: > 0 } acceptedFile)
{
    File.WriteAllLines(acceptedFile, run.AcceptedPerTopic.Select((count, t) => $"t-{t} {count}"));
}

var latencies = Sorted(run.Latencies);
var service = Sorted(run.Service);
var lateness = Sorted(run.Lateness);
Console.WriteLine(string.Create(inv,
    $"offered={rate:F0} planned={total} unsent={unsent} deferred={deferred} seconds={elapsed:F1} connections={opened} accepted={run.Accepted} accepted_per_s={run.Accepted / elapsed:F0} " +
    $"s503={run.Unavailable} s429={run.TooMany} other={run.Other} failed={run.Failed} " +
    $"p50_ms={At(latencies, 50):F2} p99_ms={At(latencies, 99):F2} p999_ms={At(latencies, 99.9):F2} max_ms={latencies[^1]:F2} " +
    $"svc_p50_ms={At(service, 50):F2} svc_p99_ms={At(service, 99):F2} svc_p999_ms={At(service, 99.9):F2} " +
    $"late_p50_ms={At(lateness, 50):F2} late_p99_ms={At(lateness, 99):F2} " +
    $"waited_for_connection={noIdleConnection} sends_over_5ms={slowSends} late_over_5ms_before_send={pacerLate} gc_count={GC.CollectionCount(0)} gc_pause_ms={GC.GetTotalPauseDuration().TotalMilliseconds:F0} threads={System.Diagnostics.Process.GetCurrentProcess().Threads.Count}"));
return 0;

static double[] Sorted(double[] values) => values.Where(l => !double.IsNaN(l)).Order().ToArray();
static double At(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p / 100 * sorted.Length) - 1))];

// Sleeps while the due time is more than ~1.5 ms away (Thread.Sleep's grain), then yields until it comes.
static void WaitUntil(Stopwatch clock, double due)
{
    double wait;
    while ((wait = due - clock.Elapsed.TotalSeconds) > 0)
    {
        if (wait > 0.0015)
        {
            Thread.Sleep(1);
        }
        else
        {
            Thread.Yield();
        }
    }
}

/// <summary>What the run recorded, per request (indexed by its number k) and in counts.</summary>
internal sealed class Run(long total, int topics)
{
    private long _outstanding = 1; // the pacer's own, released by AllStarted
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public long Accepted, Unavailable, TooMany, Other, Failed;

    public double[] Latencies { get; } = new double[total];

    public double[] Service { get; } = new double[total];

    public double[] Lateness { get; } = new double[total];

    public long[] AcceptedPerTopic { get; } = new long[topics];

    public Task Finished => _finished.Task;

    public void Started() => Interlocked.Increment(ref _outstanding);

    public void AllStarted() => Done();

    public void Unsent(long k) => Latencies[k] = Service[k] = Lateness[k] = double.NaN;

    public void Answered(long k, int status, double due, double sent, double done)
    {
        switch (status)
        {
            case >= 200 and < 300:
                Interlocked.Increment(ref Accepted);
                Interlocked.Increment(ref AcceptedPerTopic[k % AcceptedPerTopic.Length]);
                break;
            case 503: Interlocked.Increment(ref Unavailable); break;
            case 429: Interlocked.Increment(ref TooMany); break;
            case < 0: Interlocked.Increment(ref Failed); break;
            default: Interlocked.Increment(ref Other); break;
        }

        Latencies[k] = (done - due) * 1000;
        Service[k] = (done - sent) * 1000;
        Lateness[k] = (sent - due) * 1000;
        Done();
    }

    private void Done()
    {
        if (Interlocked.Decrement(ref _outstanding) == 0)
        {
            _finished.SetResult();
        }
    }
}

/// <summary>One keep-alive connection: sends a request, reads its answer, and goes back to the idle stack.</summary>
internal sealed class Connection(Uri url, Run run, ConcurrentStack<Connection> idle, Stopwatch clock, bool honourRetryAfter) : IDisposable
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private Socket? _socket;

    public void Dispose() => _socket?.Dispose();

    public async Task SendAsync(long k, double due, byte[] request)
    {
        var sent = clock.Elapsed.TotalSeconds;
        int status, retryAfter = 0;
        try
        {
            if (_socket is null)
            {
                _socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await _socket.ConnectAsync(url.Host, url.Port);
            }

            await _socket.SendAsync(request);
            (status, retryAfter) = await ReadResponseAsync(_socket, _buffer);
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            status = -1;
            _socket?.Dispose();
            _socket = null;
        }

        var done = clock.Elapsed.TotalSeconds;
        if (honourRetryAfter && retryAfter > 0 && status is 503 or 429)
        {
            _ = RestAsync(retryAfter);
        }
        else
        {
            idle.Push(this);
        }

        run.Answered(k, status, due, sent, done);
    }

    // The client honours Retry-After: it sends nothing for that long.
    private async Task RestAsync(int seconds)
    {
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        idle.Push(this);
    }

    // Reads one HTTP/1.1 response (headers + Content-Length body) and returns its status code and Retry-After (0 if none).
    private static async Task<(int Status, int RetryAfter)> ReadResponseAsync(Socket socket, byte[] buffer)
    {
        var filled = 0;
        int headerEnd;
        while ((headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(filled));
            if (read == 0)
            {
                throw new IOException("connection closed");
            }

            filled += read;
        }

        var status = (buffer[9] - '0') * 100 + (buffer[10] - '0') * 10 + (buffer[11] - '0');
        var (length, retryAfter) = Headers(buffer.AsSpan(0, headerEnd));
        var bodyRead = filled - (headerEnd + 4);
        while (bodyRead < length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(0, Math.Min(buffer.Length, length - bodyRead)));
            if (read == 0)
            {
                throw new IOException("connection closed");
            }

            bodyRead += read;
        }

        return (status, retryAfter);
    }

    private static (int ContentLength, int RetryAfter) Headers(ReadOnlySpan<byte> head)
    {
        int length = 0, retryAfter = 0;
        foreach (var range in head.Split("\r\n"u8))
        {
            var line = head[range];
            if (line.Length > 15 && Ascii.EqualsIgnoreCase(line[..15], "Content-Length:"u8))
            {
                length = int.Parse(line[15..].Trim((byte)' '), System.Globalization.CultureInfo.InvariantCulture);
            }

            if (line.Length > 12 && Ascii.EqualsIgnoreCase(line[..12], "Retry-After:"u8))
            {
                _ = int.TryParse(line[12..].Trim((byte)' '), System.Globalization.CultureInfo.InvariantCulture, out retryAfter);
            }

            if (line.Length > 18 && Ascii.EqualsIgnoreCase(line[..18], "Transfer-Encoding:"u8))
            {
                throw new InvalidDataException("chunked responses are not expected here");
            }
        }

        return (length, retryAfter);
    }
}
