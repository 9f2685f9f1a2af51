using System.Diagnostics;
using Ingest.Api.Access;
using Ingest.Api.Options;
using Ingest.Configuration;
using Microsoft.AspNetCore.Http;

// What the ingest hot path adds per request for access control, in ns per request, medians of RUNS runs
// of ITERATIONS requests each, single thread. Reference: one SHA-256 of the presented key, which is
// what a check that hashes every request (instead of remembering verified keys) would pay.
var iterations = args.Length > 0 ? int.Parse(args[0]) : 2_000_000;
var runs = args.Length > 1 ? int.Parse(args[1]) : 5;

const string key = "ik_gy5CMFPGKLaaDC3Ut0G30JdKhizA1MpF3KSH617EnbA";
var keys = Enumerable.Range(0, 1000).Select(i => new ProducerKey { Name = $"key-{i}", Hash = ConfigSeed.HashOf($"other-{i}") })
    .Append(new ProducerKey { Name = "bench", Hash = ConfigSeed.HashOf(key), Topics = ["clicks", "views"] })
    .Append(new ProducerKey { Name = "limited", Hash = ConfigSeed.HashOf(key + "-limited"), RecordsPerSecond = 1e12, BytesPerSecond = 1e15 })
    .ToList();
var topics = Enumerable.Range(0, 500).ToDictionary(i => $"topic-{i}", _ => new TopicSettings(), StringComparer.Ordinal);
topics["clicks"] = new TopicSettings { Shards = 4 };

var open = Control(new ClusterConfig { Version = 1 });
var secured = Control(new ClusterConfig { Version = 1, Keys = keys, Topics = topics });
var open_ = Request(null);
var bearer = Request("Bearer " + key);
var limitedRequest = Request("Bearer " + key + "-limited");

var cases = new (string Name, Func<int> Step)[]
{
    ("reference: SHA-256 of the key", () => ConfigSeed.HashOf(key).Length),
    ("no keys configured (auth off)", () => (int)open.Check(open_, "clicks", out _, out _)),
    ("1002 keys, 1 of 1000 topics: Bearer key, topic grant", () => (int)secured.Check(bearer, "clicks", out _, out _)),
    ("same + rate limit (records and bytes)", () =>
    {
        var denial = secured.Check(limitedRequest, "topic-7", out _, out var grant);
        return (int)denial + (grant!.Limiter!.TryTake(1, 200, out _) ? 1 : 0);
    }),
    ("unknown key (hashed every time)", () => (int)secured.Check(Request("Bearer ik_unknown"), "clicks", out _, out _)),
};

Console.WriteLine($"access checks: {iterations:N0} requests per run, {runs} runs, medians (ns per request); one thread");
Console.WriteLine("| case | ns/request | ratio to SHA-256 |");
Console.WriteLine("| --- | --- | --- |");
double? reference = null;
foreach (var (name, step) in cases)
{
    for (var i = 0; i < iterations / 10; i++)
    {
        step(); // warm-up: tiered JIT
    }

    var samples = new List<double>();
    for (var run = 0; run < runs; run++)
    {
        var sink = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            sink += step();
        }

        samples.Add(clock.Elapsed.TotalNanoseconds / iterations);
        GC.KeepAlive(sink);
    }

    samples.Sort();
    var median = samples[samples.Count / 2];
    reference ??= median;
    Console.WriteLine($"| {name} | {median:F0} | {median / reference.Value:F2} |");
}

static AccessControl Control(ClusterConfig config)
{
    var live = new LiveConfig(config);
    live.Offer(config); // as if received from the cluster
    return new AccessControl(live, Microsoft.Extensions.Options.Options.Create(new IngestApiOptions()), TimeProvider.System);
}

static HttpRequest Request(string? authorization)
{
    var context = new DefaultHttpContext();
    if (authorization is not null)
    {
        context.Request.Headers.Authorization = authorization;
    }

    return context.Request;
}
