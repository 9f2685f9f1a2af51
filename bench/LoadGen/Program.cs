using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

// Usage: LoadGen <url> <rate req/s> <seconds> <connections> <body-file> [content-type]
// Open loop: request k is due at start + k/rate whatever happened before it; its latency runs from
// that due time to the answer, so a server that falls behind shows its queue in the latency instead
// of slowing the load down (no coordinated omission). Each of <connections> workers keeps one
// keep-alive connection and takes the next due request. Prints one line of key=value pairs.
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: LoadGen <url> <rate> <seconds> <connections> <body-file> [content-type]");
    return 2;
}

var url = new Uri(args[0]);
var rate = double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var seconds = double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
var connections = int.Parse(args[3]);
var body = File.ReadAllBytes(args[4]);
var contentType = args.Length > 5 ? args[5] : "application/json";
var total = (long)(rate * seconds);

using var http = new HttpClient(new SocketsHttpHandler
{
    MaxConnectionsPerServer = connections,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    UseProxy = false,
    AutomaticDecompression = DecompressionMethods.None,
}) { Timeout = TimeSpan.FromSeconds(30) };

var latencies = new double[total];
long next = -1;
long accepted = 0, unavailable = 0, tooMany = 0, other = 0, failed = 0;
var clock = Stopwatch.StartNew();
var workers = Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
{
    while (true)
    {
        var k = Interlocked.Increment(ref next);
        if (k >= total)
        {
            return;
        }

        var due = k / rate;
        var wait = due - clock.Elapsed.TotalSeconds;
        if (wait > 0.001)
        {
            await Task.Delay(TimeSpan.FromSeconds(wait));
        }

        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        try
        {
            using var response = await http.PostAsync(url, content);
            await response.Content.ReadAsByteArrayAsync();
            switch ((int)response.StatusCode)
            {
                case >= 200 and < 300: Interlocked.Increment(ref accepted); break;
                case 503: Interlocked.Increment(ref unavailable); break;
                case 429: Interlocked.Increment(ref tooMany); break;
                default: Interlocked.Increment(ref other); break;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Interlocked.Increment(ref failed);
        }

        latencies[k] = (clock.Elapsed.TotalSeconds - due) * 1000;
    }
})).ToArray();
await Task.WhenAll(workers);
var elapsed = clock.Elapsed.TotalSeconds;

Array.Sort(latencies);
double Percentile(double p) => latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(p / 100 * latencies.Length) - 1)];
var inv = System.Globalization.CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(inv,
    $"offered={rate:F0} sent={total} seconds={elapsed:F1} accepted={accepted} accepted_per_s={accepted / elapsed:F0} s503={unavailable} s429={tooMany} other={other} failed={failed} " +
    $"p50_ms={Percentile(50):F2} p99_ms={Percentile(99):F2} p999_ms={Percentile(99.9):F2} max_ms={latencies[^1]:F2}"));
return 0;
