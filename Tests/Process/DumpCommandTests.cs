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
        Assert.Empty(countOutput.ToString());
        Assert.Contains("1 record(s)", countError.ToString());
    }

    private string WriteSegment(params (byte[]? Key, byte[] Value)[] records)
    {
        var path = Path.Combine(_dir.Path, "000000000001.active");
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
