using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Ingest.Api.Parsing;

// What checking an NDJSON line and framing a batch cost, in ns per record (line), medians of RUNS runs of
// ITERATIONS lines each, one thread. Reference: System.Text.Json's Utf8JsonReader reading every token of
// the line, which is what "check that it is JSON" costs with the framework's own reader.
var iterations = args.Length > 0 ? int.Parse(args[0]) : 1_000_000;
var runs = args.Length > 1 ? int.Parse(args[1]) : 5;
var anchorBody = args.Length > 2 ? File.ReadAllBytes(args[2]).AsSpan().TrimEnd("\r\n"u8).ToArray()
    : """{"event":"page_view","ts":1732316400123,"user_id":"u_0012345678","device_id":"d-5f2c9a7e","app":"web","ver":"3.14.0","page":"/products/12345","ref":"/home","props":{"price":199,"cur":"CNY","sku":"S"}}"""u8.ToArray();

var shapes = new (string Name, byte[] Line)[]
{
    ($"the anchor's event ({anchorBody.Length} B)", anchorBody),
    ("long strings (URL, user agent, message)", Encoding.UTF8.GetBytes(
        """{"event":"error","url":"https://shop.example.com/checkout/step-3?session=9f8e7d6c5b4a39281706f5e4d3c2b1a0&utm_source=newsletter&utm_medium=email&utm_campaign=winter-sale-2026","ua":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.73 Safari/537.36","message":"""
        + "\"" + string.Concat(Enumerable.Repeat("payment provider timed out after 30000 ms while confirming the order; ", 8)) + "\"}")),
    ("escapes and non-ASCII", Encoding.UTF8.GetBytes(
        """{"q":"\"cheap\" flights \\ \u00e9t\u00e9","city":"北京","note":"line one\nline two\ttabbed","path":"C:\\Users\\kim\\file.txt","emoji":"\ud83d\ude00","k":[true,false,null,-1.5e+3]}""")),
    ("numbers and nesting", Encoding.UTF8.GetBytes(
        """{"id":123456789,"xy":[[1.5,-2.25],[3e10,4E-2],[0,0.0001]],"m":{"a":{"b":{"c":[1,2,3,{"d":null}]}}},"ok":true,"n":-0.5}""")),
};

Console.WriteLine($"NDJSON lines: {iterations:N0} per run, {runs} runs, medians (ns per line); one thread");
Console.WriteLine("| line | bytes | Utf8JsonReader (reference) | Ingest's check (JsonSyntax) | ratio |");
Console.WriteLine("| --- | --- | --- | --- | --- |");
foreach (var (name, line) in shapes)
{
    if (!ReaderAccepts(line) || !JsonSyntax.IsOneValue(line, out _))
    {
        throw new InvalidOperationException($"'{name}' is not accepted by both: the comparison would be of different work");
    }

    var reader = Median(() => ReaderAccepts(line));
    var ours = Median(() => JsonSyntax.IsOneValue(line, out _));
    Console.WriteLine($"| {name} | {line.Length} | {reader:F0} | {ours:F0} | {ours / reader:F2} |");
}

// A whole 100-line batch of the anchor's event, as the batch endpoint parses it: split, UTF-8 check, JSON check, frame.
var batch = Enumerable.Range(0, 100).SelectMany(_ => anchorBody.Append((byte)'\n')).ToArray();
var frames = new ArrayBufferWriter<byte>(batch.Length * 2);
var stamp = new RecordStamp(1_732_316_400_123, ReadOnlyMemory<byte>.Empty, false);
double PerRecord(bool validate) => Median(() =>
{
    frames.ResetWrittenCount();
    return BatchParser.ParseNdjson(batch, stamp, 1 << 20, validate, frames).Records == 100;
}, iterations / 100) / 100;
var unchecked_ = PerRecord(validate: false);
var checked_ = PerRecord(validate: true);
Console.WriteLine();
Console.WriteLine("| 100-line batch of the anchor's event, BatchParser.ParseNdjson | ns per record | ratio to unvalidated |");
Console.WriteLine("| --- | --- | --- |");
Console.WriteLine($"| lines split, UTF-8 checked and framed (Ingest:ValidateNdjsonLines=false) | {unchecked_:F0} | 1.00 |");
Console.WriteLine($"| the same and each line checked as one JSON value (the default) | {checked_:F0} | {checked_ / unchecked_:F2} |");

double Median(Func<bool> step, int? count = null)
{
    var n = count ?? iterations;
    for (var i = 0; i < n / 5; i++)
    {
        step(); // warm-up: tiered JIT
    }

    var samples = new List<double>();
    for (var run = 0; run < runs; run++)
    {
        var sink = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < n; i++)
        {
            sink += step() ? 1 : 0;
        }

        samples.Add(clock.Elapsed.TotalNanoseconds / n);
        if (sink != n)
        {
            throw new InvalidOperationException("a step said no");
        }
    }

    samples.Sort();
    return samples[samples.Count / 2];
}

static bool ReaderAccepts(ReadOnlySpan<byte> line)
{
    try
    {
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = JsonSyntax.MaxDepth });
        while (reader.Read())
        {
        }

        return reader.BytesConsumed == line.Length || line[(int)reader.BytesConsumed..].Trim(" \t\r\n"u8).IsEmpty;
    }
    catch (JsonException)
    {
        return false;
    }
}
