using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

// Usage: LoadGen <url> <rate req/s> <seconds> <connections> <body-file> [content-type]
// Open loop: request k is due at start + k/rate whatever happened before it; its latency runs from
// that due time to the answer, so a server that falls behind shows its queue in the latency instead
// of slowing the load down (no coordinated omission). svc_* percentiles run from the actual send
// instead: the server's own time, without any lateness of this generator's timers. Each of <connections> workers keeps one
// keep-alive HTTP/1.1 connection, writes a pre-built request and reads the answer with plain
// sockets (an HttpClient costs the shared cores more than the server under test). Prints one line
// of key=value pairs.
// With LOADGEN_TOPICS=N and a URL holding {topic}, request k goes to topic t-(k mod N) (a trickle over
// many topics); LOADGEN_ACCEPTED=<file> then receives "topic accepted" lines, one per topic.
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: LoadGen <url> <rate> <seconds> <connections> <body-file> [content-type]");
    return 2;
}

var inv = System.Globalization.CultureInfo.InvariantCulture;
var url = new Uri(args[0]);
var rate = double.Parse(args[1], inv);
var seconds = double.Parse(args[2], inv);
var connections = int.Parse(args[3], inv);
var body = File.ReadAllBytes(args[4]);
var contentType = args.Length > 5 ? args[5] : "application/json";
var total = (long)(rate * seconds);
var topics = int.TryParse(Environment.GetEnvironmentVariable("LOADGEN_TOPICS"), out var n) && n > 0 ? n : 1;
var path = Uri.UnescapeDataString(url.PathAndQuery);
var requests = Enumerable.Range(0, topics).Select(t => Encoding.ASCII.GetBytes(
    $"POST {path.Replace("{topic}", $"t-{t}")} HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\n\r\n")
    .Concat(body).ToArray()).ToArray();
var acceptedPerTopic = new long[topics];

var latencies = new double[total];
var service = new double[total];
long next = -1;
long accepted = 0, unavailable = 0, tooMany = 0, other = 0, failed = 0, unsent = 0;
// A generator that cannot keep up stops at 1.5x the planned time; what it never sent is reported.
var cutoff = seconds * 1.5 + 2;
var clock = Stopwatch.StartNew();
var workers = Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
{
    var buffer = new byte[64 * 1024];
    Socket? socket = null;
    while (true)
    {
        var k = Interlocked.Increment(ref next);
        if (k >= total)
        {
            socket?.Dispose();
            return;
        }

        var due = k / rate;
        if (clock.Elapsed.TotalSeconds > cutoff)
        {
            Interlocked.Increment(ref unsent);
            latencies[k] = service[k] = double.NaN;
            continue;
        }

        var wait = due - clock.Elapsed.TotalSeconds;
        if (wait > 0.001)
        {
            await Task.Delay(TimeSpan.FromSeconds(wait));
        }

        var sent = 0.0;
        try
        {
            if (socket is null)
            {
                socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(url.Host, url.Port);
            }

            sent = clock.Elapsed.TotalSeconds;
            await socket.SendAsync(requests[k % topics]);
            var status = await ReadResponseAsync(socket, buffer);
            switch (status)
            {
                case >= 200 and < 300:
                    Interlocked.Increment(ref accepted);
                    Interlocked.Increment(ref acceptedPerTopic[k % topics]);
                    break;
                case 503: Interlocked.Increment(ref unavailable); break;
                case 429: Interlocked.Increment(ref tooMany); break;
                default: Interlocked.Increment(ref other); break;
            }
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            Interlocked.Increment(ref failed);
            socket?.Dispose();
            socket = null;
        }

        var done = clock.Elapsed.TotalSeconds;
        latencies[k] = (done - due) * 1000;
        service[k] = (done - (sent > 0 ? sent : done)) * 1000;
    }
})).ToArray();
await Task.WhenAll(workers);
var elapsed = clock.Elapsed.TotalSeconds;

if (Environment.GetEnvironmentVariable("LOADGEN_ACCEPTED") is { Length: > 0 } acceptedFile)
{
    File.WriteAllLines(acceptedFile, acceptedPerTopic.Select((count, t) => $"t-{t} {count}"));
}

latencies = latencies.Where(l => !double.IsNaN(l)).Order().ToArray();
service = service.Where(l => !double.IsNaN(l)).Order().ToArray();
double Percentile(double p) => At(latencies, p);
double Service(double p) => At(service, p);
static double At(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p / 100 * sorted.Length) - 1))];
Console.WriteLine(string.Create(inv,
    $"offered={rate:F0} planned={total} unsent={unsent} seconds={elapsed:F1} accepted={accepted} accepted_per_s={accepted / elapsed:F0} s503={unavailable} s429={tooMany} other={other} failed={failed} " +
    $"p50_ms={Percentile(50):F2} p99_ms={Percentile(99):F2} p999_ms={Percentile(99.9):F2} max_ms={latencies[^1]:F2} " +
    $"svc_p50_ms={Service(50):F2} svc_p99_ms={Service(99):F2} svc_p999_ms={Service(99.9):F2}"));
return 0;

// Reads one HTTP/1.1 response (headers + Content-Length body) and returns its status code.
static async Task<int> ReadResponseAsync(Socket socket, byte[] buffer)
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

    var head = Encoding.ASCII.GetString(buffer, 0, headerEnd);
    var status = int.Parse(head.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
    var length = 0;
    foreach (var line in head.Split("\r\n"))
    {
        if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
        {
            length = int.Parse(line.AsSpan(15).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }
        else if (line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException("chunked responses are not expected here");
        }
    }

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

    return status;
}
