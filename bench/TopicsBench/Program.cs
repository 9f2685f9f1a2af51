using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;
using Ingest.DevBroker;

// Cost that follows traffic, not topics (bench/topics.sh). Each scenario starts its own in-memory
// Kafka (librdkafka's mock cluster, in this process, so its memory is not the silo's) and its own
// Release silo (a separate process, measured from /proc), and prints one line of key=value pairs.
//
//   TopicsBench idle    <silo-dir> <work> <topics>
//       one record to each topic; once everything is shipped and the topic grains went idle
//       (Ingest:IdleTopicAfter=20 s): the silo's idle CPU, RSS, descriptors, /metrics and /v1/status times
//   TopicsBench trickle <silo-dir> <work> <loadgen-dll> <topics> <records/s per topic> <seconds> <kafka on|off>
//       paced single POSTs spread over the topics: silo CPU per record, 202 -> Kafka latency (p99 bucket)
//   TopicsBench outage  <silo-dir> <work> <loadgen-dll> <topics> <records/s per topic> <down seconds>
//       the same paced load; all brokers down in the middle; RSS each second; every record in Kafka;
//       after recovery, how long until every topic's oldest unshipped record is under 5 s old
//   TopicsBench post    <url with {topic}> <topics>
//       one record to each topic (the OpenResty anchor); prints how many were answered 2xx
//   TopicsBench producer <topics> <records/s per topic> <seconds> [compression]
//       the reference for the trickle: a plain Confluent.Kafka producer (the forwarder's settings:
//       idempotent, acks=all, linger 5 ms, lz4 unless told) in a process of its own sends the same paced
//       records to the same topics; its CPU per record is what the Kafka client alone costs
var inv = CultureInfo.InvariantCulture;
return args[0] switch
{
    "idle" => await Idle(args[1], args[2], int.Parse(args[3], inv)),
    "trickle" => await Trickle(args[1], args[2], args[3], int.Parse(args[4], inv), double.Parse(args[5], inv), int.Parse(args[6], inv), args[7] == "on"),
    "outage" => await Outage(args[1], args[2], args[3], int.Parse(args[4], inv), double.Parse(args[5], inv), int.Parse(args[6], inv)),
    "post" => await PostEach(args[1], int.Parse(args[2], inv)) >= 0 ? 0 : 1, // the count is printed; failures are the anchor's figure
    "producer" => await Producer(int.Parse(args[1], inv), double.Parse(args[2], inv), int.Parse(args[3], inv), args.Length > 4 ? args[4] : "lz4"),
    "producer-child" => ProducerChild(args[1], int.Parse(args[2], inv), double.Parse(args[3], inv), int.Parse(args[4], inv), args[5]),
    _ => 2,
};

async Task<int> Idle(string siloDir, string work, int topics)
{
    await using var kafka = Broker(topics, partitions: 1);
    await using var silo = await Silo.StartAsync(siloDir, work, $"idle-{topics}", kafka.BootstrapServers, idleAfter: "00:00:20");
    var posted = await PostEach(silo.Url + "/v1/topics/{topic}", topics, print: false);
    await Until(async () => await silo.ShippedAsync() >= topics, TimeSpan.FromMinutes(10), "every record shipped");
    // Idle: every grain sealed its segment, every segment was shipped and archived, no topic holds a file.
    await Until(() => Task.FromResult(silo.SegmentFiles() == 0), TimeSpan.FromMinutes(5), "every segment sealed, shipped and archived");
    await Task.Delay(TimeSpan.FromSeconds(10)); // settle: the last archive moves and a GC
    var cpu = await silo.CpuOverAsync(TimeSpan.FromSeconds(30));
    var metrics = await silo.TimeAsync("/metrics");
    var status = await silo.TimeAsync("/v1/status");
    Console.WriteLine(string.Create(inv,
        $"scenario=idle topics={topics} posted={posted} idle_cpu_ms_per_s={cpu:F1} rss_mib={silo.RssMiB()} fds={silo.Descriptors()} metrics_ms={metrics:F0} status_ms={status:F0}"));
    if (Environment.GetEnvironmentVariable("TOPICSBENCH_HOLD") is { Length: > 0 } hold)
    {
        // For a look inside (dotnet-counters, dotnet-gcdump): the silo stays up until this file exists.
        Console.Error.WriteLine($"silo pid {silo.Pid}; holding until {hold} exists");
        await Until(() => Task.FromResult(File.Exists(hold)), TimeSpan.FromHours(1), hold);
    }

    return 0;
}

async Task<int> Trickle(string siloDir, string work, string loadgen, int topics, double perTopic, int seconds, bool forward)
{
    await using var kafka = Broker(topics, partitions: topics == 1 ? 64 : 1);
    await using var silo = await Silo.StartAsync(siloDir, work, $"trickle-{topics}-{(forward ? "on" : "off")}", forward ? kafka.BootstrapServers : null);
    await LoadAsync(silo, loadgen, work, topics, perTopic, seconds: 10); // warm-up: JIT, connections, topic logs
    if (forward)
    {
        await Until(async () => await silo.ShippedAsync() >= await silo.AcceptedAsync(), TimeSpan.FromMinutes(2), "the warm-up shipped");
    }

    var histogramBefore = await silo.DeliveryHistogramAsync();
    var cpuBefore = silo.CpuMs();
    var (accepted, load) = await LoadAsync(silo, loadgen, work, topics, perTopic, seconds);
    if (forward)
    {
        await Until(async () => await silo.ShippedAsync() >= await silo.AcceptedAsync(), TimeSpan.FromMinutes(2), "the load shipped");
    }

    var cpu = silo.CpuMs() - cpuBefore;
    var histogram = Subtract(await silo.DeliveryHistogramAsync(), histogramBefore);
    Console.WriteLine(string.Create(inv,
        $"scenario=trickle topics={topics} per_topic={perTopic} forward={(forward ? "on" : "off")} accepted={accepted} cpu_us_per_record={cpu * 1000 / Math.Max(1, accepted):F2} " +
        $"delivery_p50_le_s={Quantile(histogram, 0.5)} delivery_p99_le_s={Quantile(histogram, 0.99)} delivery_le_1s={Fraction(histogram, 1.0):F4} {load}"));
    return 0;
}

async Task<int> Outage(string siloDir, string work, string loadgen, int topics, double perTopic, int down)
{
    await using var kafka = Broker(topics, partitions: 1);
    await using var silo = await Silo.StartAsync(siloDir, work, $"outage-{topics}", kafka.BootstrapServers);
    var rssBase = silo.RssMiB();
    var seconds = down + 60;
    var acceptedFile = Path.Combine(work, "outage-accepted.txt");
    var load = LoadAsync(silo, loadgen, work, topics, perTopic, seconds, acceptedFile);
    var rss = new List<long>();
    var clock = Stopwatch.StartNew();
    async Task SampleUntil(double second)
    {
        while (clock.Elapsed.TotalSeconds < second)
        {
            rss.Add(silo.RssMiB());
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    await SampleUntil(30);
    var rssBefore = rss.Max();
    kafka.SetBrokerDown();
    await SampleUntil(30 + down);
    var rssDuringMax = rss.Skip(30).Max();
    var backlogAtRecovery = await silo.BacklogBytesAsync();
    kafka.SetBrokerUp();
    var recovered = clock.Elapsed.TotalSeconds;
    double? fairAfter = null;
    double ageAt30 = double.NaN;
    while (clock.Elapsed.TotalSeconds < recovered + 40)
    {
        var age = await silo.OldestUnshippedAgeAsync();
        var since = clock.Elapsed.TotalSeconds - recovered;
        var shippedNow = await silo.ShippedAsync();
        var backlogNow = await silo.BacklogBytesAsync();
        Console.Error.WriteLine(string.Create(inv, $"recovery t={since:F1}s oldest_unshipped_age_s={age:F1} shipped={shippedNow} backlog_mib={backlogNow / 1048576.0:F1} rss_mib={silo.RssMiB()}"));
        fairAfter ??= age < 5 ? since : null;
        if (since >= 30 && double.IsNaN(ageAt30))
        {
            ageAt30 = age;
        }

        rss.Add(silo.RssMiB());
        await Task.Delay(TimeSpan.FromSeconds(1));
    }

    var (accepted, result) = await load;
    await Until(async () => await silo.ShippedAsync() >= accepted, TimeSpan.FromMinutes(5), "every accepted record shipped");
    var expected = File.ReadAllLines(acceptedFile).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => long.Parse(p[1], inv));
    var found = CountInKafka(kafka.BootstrapServers, expected);
    var missingTopics = expected.Count(e => found.GetValueOrDefault(e.Key) < e.Value);
    Console.WriteLine(string.Create(inv,
        $"scenario=outage topics={topics} per_topic={perTopic} down_s={down} accepted={accepted} in_kafka={found.Values.Sum()} topics_short={missingTopics} " +
        $"rss_base_mib={rssBase} rss_before_mib={rssBefore} rss_outage_max_mib={rssDuringMax} rss_max_mib={rss.Max()} backlog_at_recovery_mib={backlogAtRecovery / 1048576.0:F1} " +
        $"fair_after_s={(fairAfter is { } f ? f.ToString("F1", inv) : "never")} oldest_age_at_30s={ageAt30:F1} {result}"));
    return missingTopics == 0 ? 0 : 1;
}

async Task<int> Producer(int topics, double perTopic, int seconds, string compression)
{
    await using var kafka = Broker(topics, partitions: topics == 1 ? 64 : 1);
    var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true };
    foreach (var argument in new[] { typeof(Silo).Assembly.Location, "producer-child", kafka.BootstrapServers, topics.ToString(inv), perTopic.ToString(inv), seconds.ToString(inv), compression })
    {
        start.ArgumentList.Add(argument);
    }

    using var process = Process.Start(start)!;
    var line = (await process.StandardOutput.ReadToEndAsync()).Trim();
    await process.WaitForExitAsync();
    Console.WriteLine(line);
    return process.ExitCode;
}

// The same load as bench/LoadGen's (the same rate, topics in turn), sent in 10 ms ticks; a warm-up of 10 s (every topic known
// to the producer), then the measured window: this process's CPU until every record of it is delivered.
int ProducerChild(string bootstrap, int topics, double perTopic, int seconds, string compression)
{
    var config = new ProducerConfig
    {
        BootstrapServers = bootstrap,
        EnableIdempotence = true,
        Acks = Acks.All,
        LingerMs = 5,
        MessageTimeoutMs = 0,
        CompressionType = Enum.Parse<CompressionType>(compression, ignoreCase: true),
        StatisticsIntervalMs = 0,
    };
    // Extra librdkafka properties for a comparison run, e.g. PRODUCER_SETTINGS="linger.ms=100".
    foreach (var setting in (Environment.GetEnvironmentVariable("PRODUCER_SETTINGS") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
    {
        config.Set(setting[..setting.IndexOf('=')], setting[(setting.IndexOf('=') + 1)..]);
    }

    using var producer = new ProducerBuilder<byte[]?, byte[]>(config).Build();
    var value = System.Text.Encoding.UTF8.GetBytes("""{"event":"page_view","user":"u-12345","page":"/products/42","referrer":"https://example.com/","ts":1733050000000,"ua":"Mozilla/5.0 (X11; Linux x86_64)"}""");
    var names = Enumerable.Range(0, topics).Select(t => $"t-{t}").ToArray();
    long delivered = 0;
    long failed = 0;
    var next = 0;
    var latencies = new long[60_001]; // delivery latency histogram, 1 ms buckets
    void Run(int forSeconds)
    {
        var rate = topics * perTopic;
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (clock.Elapsed.TotalSeconds < forSeconds)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * rate);
            for (; sent < due; sent++)
            {
                var message = new Message<byte[]?, byte[]> { Value = value, Timestamp = new Timestamp(DateTime.UtcNow) };
                var produced = Stopwatch.GetTimestamp();
                producer.Produce(names[next], message, report =>
                {
                    if (report.Error.IsError) { Interlocked.Increment(ref failed); } else { Interlocked.Increment(ref delivered); }
                    var ms = (int)Math.Min(latencies.Length - 1, Stopwatch.GetElapsedTime(produced).TotalMilliseconds);
                    Interlocked.Increment(ref latencies[ms]);
                });
                next = (next + 1) % topics;
            }

            Thread.Sleep(10);
        }

        producer.Flush(TimeSpan.FromMinutes(2));
    }

    Run(10);
    Array.Clear(latencies);
    var warm = Interlocked.Read(ref delivered);
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    Run(seconds);
    var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    var records = Interlocked.Read(ref delivered) - warm;
    Console.WriteLine(string.Create(inv,
        $"scenario=producer topics={topics} per_topic={perTopic} compression={compression} delivered={records} failed={Interlocked.Read(ref failed)} cpu_us_per_record={used.TotalMilliseconds * 1000 / Math.Max(1, records):F2} " +
        $"delivery_p50_ms={LatencyQuantile(latencies, 0.5)} delivery_p99_ms={LatencyQuantile(latencies, 0.99)}"));
    return Interlocked.Read(ref failed) == 0 ? 0 : 1;
}

async Task<(long Accepted, string Line)> LoadAsync(Silo silo, string loadgen, string work, int topics, double perTopic, int seconds, string? acceptedFile = null)
{
    var body = Path.Combine(work, "record.json");
    File.WriteAllText(body, """{"event":"page_view","user":"u-12345","page":"/products/42","referrer":"https://example.com/","ts":1733050000000,"ua":"Mozilla/5.0 (X11; Linux x86_64)"}""");
    var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true };
    foreach (var argument in new[] { loadgen, silo.Url + "/v1/topics/{topic}", (topics * perTopic).ToString(inv), seconds.ToString(inv), "64", body })
    {
        start.ArgumentList.Add(argument);
    }

    start.Environment["LOADGEN_TOPICS"] = topics.ToString(inv);
    start.Environment["LOADGEN_ACCEPTED"] = acceptedFile ?? "";
    using var process = Process.Start(start)!;
    var line = (await process.StandardOutput.ReadToEndAsync()).Trim();
    await process.WaitForExitAsync();
    var accepted = long.Parse(line.Split(' ').Single(p => p.StartsWith("accepted=", StringComparison.Ordinal))["accepted=".Length..], inv);
    return (accepted, line);
}

async Task<int> PostEach(string template, int topics, bool print = true)
{
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 });
    var ok = 0;
    var next = -1;
    await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
    {
        for (var t = Interlocked.Increment(ref next); t < topics; t = Interlocked.Increment(ref next))
        {
            try
            {
                using var response = await http.PostAsync(template.Replace("{topic}", $"t-{t}"), new StringContent($$"""{"topic":{{t}}}"""));
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref ok);
                }
            }
            catch (HttpRequestException)
            {
            }
        }
    })));
    if (print)
    {
        Console.WriteLine($"posted={ok} of={topics}");
    }

    return ok;
}

// Topics of many are left to the broker's auto-creation on first produce (the mock cluster creates
// one in ~0.1-1 s through its API, so 10,000 would take hours); a single hot topic gets partitions
// enough for the mock's ~5 MiB per partition.
static MockKafkaCluster Broker(int topics, int partitions)
{
    var kafka = MockKafkaCluster.Start(brokers: 1);
    if (topics == 1)
    {
        kafka.CreateTopic("t-0", partitions);
    }

    return kafka;
}

static Dictionary<string, long> CountInKafka(string bootstrap, Dictionary<string, long> topics)
{
    using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
    var partitions = admin.GetMetadata(TimeSpan.FromSeconds(30)).Topics
        .Where(t => topics.ContainsKey(t.Topic))
        .SelectMany(t => t.Partitions.Select(p => new TopicPartitionOffset(t.Topic, p.PartitionId, Offset.Beginning)))
        .ToList();
    using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "count", EnablePartitionEof = true, EnableAutoCommit = false }).Build();
    consumer.Assign(partitions);
    var counts = new Dictionary<string, long>();
    var ended = new HashSet<TopicPartition>();
    var deadline = Stopwatch.StartNew();
    while (ended.Count < partitions.Count && deadline.Elapsed < TimeSpan.FromMinutes(5))
    {
        var result = consumer.Consume(TimeSpan.FromSeconds(1));
        if (result is null)
        {
            continue;
        }

        if (result.IsPartitionEOF)
        {
            ended.Add(result.TopicPartition);
            continue;
        }

        counts[result.Topic] = counts.GetValueOrDefault(result.Topic) + 1;
    }

    return counts;
}

static int LatencyQuantile(long[] histogram, double q)
{
    var total = histogram.Sum();
    long seen = 0;
    for (var ms = 0; ms < histogram.Length; ms++)
    {
        seen += histogram[ms];
        if (seen >= q * total)
        {
            return ms + 1;
        }
    }

    return histogram.Length;
}

static SortedDictionary<double, long> Subtract(SortedDictionary<double, long> after, SortedDictionary<double, long> before) =>
    new(after.ToDictionary(b => b.Key, b => b.Value - before.GetValueOrDefault(b.Key)));

static string Quantile(SortedDictionary<double, long> cumulative, double q)
{
    var total = cumulative.Count == 0 ? 0 : cumulative.Values.Max();
    foreach (var (bound, count) in cumulative)
    {
        if (count >= q * total)
        {
            return double.IsPositiveInfinity(bound) ? "inf" : bound.ToString(CultureInfo.InvariantCulture);
        }
    }

    return "n/a";
}

static double Fraction(SortedDictionary<double, long> cumulative, double bound)
{
    var total = cumulative.Count == 0 ? 0 : cumulative.Values.Max();
    return total == 0 ? 0 : (double)cumulative.GetValueOrDefault(bound) / total;
}

static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, string what)
{
    var clock = Stopwatch.StartNew();
    while (!await condition())
    {
        if (clock.Elapsed > timeout)
        {
            throw new TimeoutException($"timed out after {timeout} waiting for: {what}");
        }

        await Task.Delay(500);
    }
}

/// <summary>A Release silo in its own process, measured from /proc and its own endpoints.</summary>
internal sealed class Silo : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(2) };
    private readonly string _data;

    private Silo(Process process, string url, string data)
    {
        _process = process;
        Url = url;
        _data = data;
    }

    public string Url { get; }

    public int Pid => _process.Id;

    public static async Task<Silo> StartAsync(string siloDir, string work, string name, string? kafka, string? idleAfter = null)
    {
        var port = 19500 + Random.Shared.Next(400);
        var data = Path.Combine(work, name + "-data");
        var start = new ProcessStartInfo("dotnet", "Ingest.Silo.dll") { WorkingDirectory = siloDir, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["Ingest__DataDirectory"] = data;
        start.Environment["Ingest__MaxDiskBytes"] = (60L << 30).ToString(CultureInfo.InvariantCulture);
        start.Environment["Cluster__SiloPort"] = (port + 1000).ToString(CultureInfo.InvariantCulture);
        start.Environment["Cluster__GatewayPort"] = (port + 2000).ToString(CultureInfo.InvariantCulture);
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Dashboard__Enabled"] = "false";
        if (kafka is null)
        {
            start.Environment["Kafka__Enabled"] = "false";
        }
        else
        {
            start.Environment["Kafka__BootstrapServers"] = kafka;
        }

        if (idleAfter is not null)
        {
            start.Environment["Ingest__IdleTopicAfter"] = idleAfter;
        }

        // Extra silo settings for a comparison run, e.g. SILO_SETTINGS="Kafka__ProducerSettings__statistics.interval.ms=0".
        foreach (var setting in (Environment.GetEnvironmentVariable("SILO_SETTINGS") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            start.Environment[setting[..setting.IndexOf('=')]] = setting[(setting.IndexOf('=') + 1)..];
        }

        var process = Process.Start(start)!;
        var log = new StreamWriter(Path.Combine(work, name + ".log")) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { Console.Error.WriteLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var silo = new Silo(process, $"http://127.0.0.1:{port}", data);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await silo._http.GetAsync(silo.Url + "/readyz")).IsSuccessStatusCode)
                {
                    return silo;
                }
            }
            catch (HttpRequestException)
            {
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(1) || process.HasExited)
            {
                throw new InvalidOperationException($"silo {name} did not start");
            }

            await Task.Delay(200);
        }
    }

    public long CpuMs()
    {
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10;
    }

    public async Task<double> CpuOverAsync(TimeSpan window)
    {
        var before = CpuMs();
        await Task.Delay(window);
        return (CpuMs() - before) / window.TotalSeconds;
    }

    public long RssMiB() =>
        long.Parse(File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;

    public int Descriptors() => Directory.GetFiles($"/proc/{_process.Id}/fd").Length;

    /// <summary>Segment files (open or sealed, not archived) left in the data directory.</summary>
    public int SegmentFiles() =>
        Directory.Exists(Path.Combine(_data, "segments"))
            ? Directory.EnumerateFiles(Path.Combine(_data, "segments"), "*", SearchOption.AllDirectories).Count(f => f.EndsWith(".seg", StringComparison.Ordinal) || f.EndsWith(".active", StringComparison.Ordinal))
            : 0;

    /// <summary>Median of 5 GETs, in ms.</summary>
    public async Task<double> TimeAsync(string path)
    {
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await _http.GetAsync(Url + path);
            await response.Content.ReadAsByteArrayAsync();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        return times.Order().ElementAt(2);
    }

    public Task<double> ShippedAsync() => SumAsync("ingest_records_shipped_total");

    public Task<double> AcceptedAsync() => SumAsync("ingest_records_accepted_total");

    public Task<double> BacklogBytesAsync() => SumAsync("ingest_backlog_bytes");

    /// <summary>The cumulative buckets of ingest_kafka_delivery_duration_seconds, summed over topics.</summary>
    public async Task<SortedDictionary<double, long>> DeliveryHistogramAsync()
    {
        var buckets = new SortedDictionary<double, long>();
        foreach (var line in (await _http.GetStringAsync(Url + "/metrics")).Split('\n'))
        {
            if (!line.StartsWith("ingest_kafka_delivery_duration_seconds_bucket{", StringComparison.Ordinal))
            {
                continue;
            }

            var le = line[(line.IndexOf("le=\"", StringComparison.Ordinal) + 4)..];
            le = le[..le.IndexOf('"')];
            var bound = le == "+Inf" ? double.PositiveInfinity : double.Parse(le, CultureInfo.InvariantCulture);
            buckets[bound] = buckets.GetValueOrDefault(bound) + (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }

        return buckets;
    }

    /// <summary>The age in seconds of the oldest unshipped record over every topic (0 when none), from /v1/status.</summary>
    public async Task<double> OldestUnshippedAgeAsync()
    {
        var status = await _http.GetFromJsonAsync<JsonElement>(Url + "/v1/status");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var oldest = long.MaxValue;
        foreach (var node in status.GetProperty("silos").EnumerateArray())
        {
            foreach (var topic in node.GetProperty("topics").EnumerateArray())
            {
                if (topic.TryGetProperty("oldestUnshippedMs", out var value) && value.ValueKind == JsonValueKind.Number)
                {
                    oldest = Math.Min(oldest, value.GetInt64());
                }
            }
        }

        return oldest == long.MaxValue ? 0 : (now - oldest) / 1000.0;
    }

    private async Task<double> SumAsync(string metric)
    {
        double sum = 0;
        foreach (var line in (await _http.GetStringAsync(Url + "/metrics")).Split('\n'))
        {
            if (line.StartsWith(metric, StringComparison.Ordinal) && (line.Length == metric.Length || line[metric.Length] is '{' or ' '))
            {
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _http.Dispose();
        _process.Dispose();
    }
}
