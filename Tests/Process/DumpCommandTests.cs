using System.Diagnostics;
using System.Text.Json;
using Ingest.Records;
using Ingest.Segments;
using Ingest.Silo.Commands;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Process;

public sealed class DumpCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new("ingest-dump");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task dump_prints_one_json_object_per_record_with_key_timestamp_and_value()
    {
        var path = WriteSegment(("k1"u8.ToArray(), """{"a":1}"""u8.ToArray()), (null, [0xFF, 0x00, 0x41]));

        var output = new StringWriter();
        var error = new StringWriter();
        var exit = DumpCommand.Run([path], output, error);

        Assert.Equal(0, exit);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal("k1", first.GetProperty("key").GetString());
        Assert.Equal("""{"a":1}""", first.GetProperty("value").GetString());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000), first.GetProperty("timestamp").GetDateTimeOffset());
        var second = JsonDocument.Parse(lines[1]).RootElement;
        Assert.Equal(JsonValueKind.Null, second.GetProperty("key").ValueKind);
        Assert.Equal(Convert.ToBase64String([0xFF, 0x00, 0x41]), second.GetProperty("valueBase64").GetString());
        Assert.Contains("2 record(s)", error.ToString());

        // The same through the real command line.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repo.HostDirectory("Silo") };
        start.ArgumentList.Add(Repo.HostDll("Silo"));
        start.ArgumentList.Add("dump");
        start.ArgumentList.Add(path);
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        Assert.Equal(output.ToString(), stdout);
    }

    [Fact]
    public void dump_shows_the_headers_of_a_record_that_has_them_and_nothing_more_for_one_that_has_none()
    {
        var path = Path.Combine(_dir.Path, "000000000001.active");
        using (var segment = ActiveSegment.Create(path, 1_767_225_600_000, fsync: false))
        {
            var headers = FrameHeaders.Encode([new("idempotency-key", "order-7"), new("idempotency-index", "0")]);
            var withHeaders = new byte[RecordFrame.SizeOf(0, 2, headers.Length)];
            RecordFrame.Write(withHeaders, 1, [], false, headers, "{}"u8);
            var plain = new byte[RecordFrame.SizeOf(0, 2)];
            RecordFrame.Write(plain, 2, [], false, "[]"u8);
            segment.Append([withHeaders, plain], withHeaders.Length + plain.Length);
        }

        var output = new StringWriter();
        Assert.Equal(0, DumpCommand.Run([path], output, new StringWriter()));

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("order-7", lines[0].GetProperty("headers").GetProperty("idempotency-key").GetString());
        Assert.Equal("0", lines[0].GetProperty("headers").GetProperty("idempotency-index").GetString());
        Assert.False(lines[1].TryGetProperty("headers", out _));
    }

    [Fact]
    public void dump_of_a_damaged_segment_prints_the_good_records_and_says_where_it_stops()
    {
        var path = WriteSegment((null, "ok"u8.ToArray()));
        File.AppendAllText(path, "garbage that is not a frame");

        var output = new StringWriter();
        var error = new StringWriter();
        var exit = DumpCommand.Run([path], output, error);

        Assert.Equal(3, exit);
        Assert.Single(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("corrupt record at offset", error.ToString());

        var countOutput = new StringWriter();
        var countError = new StringWriter();
        Assert.Equal(3, DumpCommand.Run(["--count", path], countOutput, countError));
        Assert.Contains("1 record(s)", countOutput.ToString()); // with --count the summary is the output
        Assert.Empty(countError.ToString());
    }

    [Fact]
    public async Task dump_of_a_topic_name_reads_every_segment_of_its_shards_in_the_configured_data_directory()
    {
        WriteSegment(Path.Combine(_dir.Path, "segments", "orders", "000000000001.seg"), (null, "a"u8.ToArray()));
        WriteSegment(Path.Combine(_dir.Path, "segments", "orders", "000000000002.active"), (null, "b"u8.ToArray()), (null, "c"u8.ToArray()));
        WriteSegment(Path.Combine(_dir.Path, "segments", "orders#1", "000000000001.seg"), ("k"u8.ToArray(), "d"u8.ToArray()));
        WriteSegment(Path.Combine(_dir.Path, "segments", "other", "000000000001.seg"), (null, "not orders"u8.ToArray()));

        var (exit, stdout, stderr) = await RunDump(new() { ["Ingest__DataDirectory"] = _dir.Path }, "orders");

        Assert.Equal(0, exit);
        Assert.Equal(["a", "b", "c", "d"], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("value").GetString()));
        Assert.Equal(3, stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // a summary per segment

        var (countExit, counts, _) = await RunDump(new() { ["Ingest__DataDirectory"] = _dir.Path }, "--count", "orders");
        Assert.Equal(0, countExit);
        Assert.Contains("000000000002.active: 2 record(s)", counts);
    }

    [Fact]
    public async Task dump_of_something_that_is_not_there_says_where_it_looked()
    {
        var (exit, _, stderr) = await RunDump(new() { ["Ingest__DataDirectory"] = _dir.Path }, "nothing-here");

        Assert.Equal(2, exit);
        Assert.Contains($"no topic 'nothing-here' in the data directory {Path.Combine(_dir.Path, "segments")}", stderr);
        Assert.Contains(Path.Combine(Repo.HostDirectory("Silo"), "nothing-here"), stderr); // a relative path resolves against the working directory
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunDump(Dictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repo.HostDirectory("Silo") };
        start.ArgumentList.Add(Repo.HostDll("Silo"));
        start.ArgumentList.Add("dump");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, stderr);
    }

    private string WriteSegment(params (byte[]? Key, byte[] Value)[] records) =>
        WriteSegment(Path.Combine(_dir.Path, "000000000001.active"), records);

    private static string WriteSegment(string path, params (byte[]? Key, byte[] Value)[] records)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var segment = ActiveSegment.Create(path, 1_767_225_600_000, fsync: false))
        {
            foreach (var (key, value) in records)
            {
                var frame = new byte[RecordFrame.SizeOf(key?.Length ?? 0, value.Length)];
                RecordFrame.Write(frame, 1_767_225_600_000, key ?? [], key is not null, value);
                segment.Append([frame], frame.Length);
            }
        }

        return path;
    }
}
