using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Ingest.Records;
using Ingest.Segments;

namespace Ingest.Silo.Commands;

/// <summary>
/// <c>dump [--count] &lt;segment file | topic directory | topic&gt;</c>: prints each record as one JSON object
/// per line (offset, timestamp, key, value; text when valid UTF-8, else base64; its headers if it has any), then a summary per
/// segment on stderr. A topic name reads that topic's segments (all shards) in this node's data
/// directory (<c>Ingest:DataDirectory</c>, resolved as the silo resolves it: <c>dotnet run --project Silo</c>
/// runs in <c>Silo/</c>). With <c>--count</c> only the summaries, on stdout (every CRC is still checked).
/// Read-only. Exit code 0 when every segment is clean, 3 when one ends in a torn tail or corruption,
/// 2 for a usage error or nothing to read.
/// </summary>
internal static class DumpCommand
{
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var countOnly = args.Length == 2 && args[0] == "--count";
        if (countOnly)
        {
            args = args[1..];
        }

        if (args.Length != 1)
        {
            error.WriteLine("usage: dump [--count] <segment file | topic directory | topic>");
            return ExitCodes.Usage;
        }

        var segments = Resolve(args[0], out var problem);
        if (segments is null)
        {
            error.WriteLine("dump: " + problem);
            return ExitCodes.Usage;
        }

        var clean = true;
        foreach (var segment in segments)
        {
            clean &= Dump(segment, countOnly ? null : output, countOnly ? output : error);
        }

        output.Flush();
        return clean ? 0 : 3;
    }

    /// <summary>The segment files <paramref name="target"/> names, in write order, or null with the reason.</summary>
    private static List<string>? Resolve(string target, out string problem)
    {
        problem = string.Empty;
        if (File.Exists(target))
        {
            return [target];
        }

        var directories = new List<string>();
        if (Directory.Exists(target))
        {
            directories.Add(target);
        }
        else if (Ingest.Topics.TopicName.IsValid(target))
        {
            var root = Path.Combine(DataDirectory(), "segments");
            if (Directory.Exists(root))
            {
                directories.AddRange(Directory.EnumerateDirectories(root)
                    .Where(d => Ingest.Topics.TopicShards.TryParse(Path.GetFileName(d), out var topic, out _) && topic == target)
                    .Order(StringComparer.Ordinal));
            }

            if (directories.Count == 0)
            {
                problem = $"no file or directory {Path.GetFullPath(target)}, and no topic '{target}' in the data directory {root}";
                return null;
            }
        }
        else
        {
            problem = $"no such file or directory: {Path.GetFullPath(target)}";
            return null;
        }

        var files = directories
            .SelectMany(d => Directory.EnumerateFiles(d).Where(f => SegmentFile.SequenceOf(f) >= 0).OrderBy(SegmentFile.SequenceOf))
            .ToList();
        if (files.Count == 0)
        {
            problem = $"no segment in {string.Join(", ", directories.Select(Path.GetFullPath))} (shipped segments move to the archive)";
            return null;
        }

        return files;
    }

    /// <summary>The data directory as the silo resolves it: <c>Ingest:DataDirectory</c> from appsettings.json and the environment.</summary>
    private static string DataDirectory()
    {
        var settings = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .SetBasePath(Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
        return new Ingest.Options.IngestOptions { DataDirectory = settings["Ingest:DataDirectory"] ?? "data" }.ResolveDataDirectory();
    }

    /// <summary>Writes one segment's records (unless <paramref name="records"/> is null) and its summary; true if it is clean.</summary>
    private static bool Dump(string path, TextWriter? records, TextWriter summary)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        var result = SegmentReader.Scan(path, records is null ? null : (in RecordView record, long offset) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("offset", offset);
            writer.WriteString("timestamp", DateTimeOffset.FromUnixTimeMilliseconds(record.TimestampMs));
            WriteBytes(writer, "key", record.Key, record.HasKey);
            WriteBytes(writer, "value", record.Value, present: true);
            if (!record.Headers.IsEmpty)
            {
                // Only records that have headers (an idempotency key, trace context) show them: older dumps read as before.
                writer.WriteStartObject("headers");
                foreach (var header in record.Headers)
                {
                    WriteBytes(writer, Encoding.UTF8.GetString(header.Name), header.Value, present: true);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.Flush();
            records.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
            buffer.ResetWrittenCount();
            writer.Reset();
        });
        writer.Dispose();
        records?.Flush();
        summary.WriteLine($"{path}: {result.Records} record(s), {result.ValidLength} of {result.FileLength} bytes valid, {Describe(result)}");
        return result.End == ScanEnd.Clean;
    }

    private static void WriteBytes(Utf8JsonWriter writer, string name, ReadOnlySpan<byte> bytes, bool present)
    {
        if (!present)
        {
            writer.WriteNull(name);
        }
        else if (Utf8.IsValid(bytes))
        {
            writer.WriteString(name, bytes);
        }
        else
        {
            writer.WriteBase64String(name + "Base64", bytes);
        }
    }

    private static string Describe(ScanResult result) => result.End switch
    {
        ScanEnd.Clean => "clean",
        ScanEnd.TornTail => $"torn tail at offset {result.ValidLength} ({result.InvalidBytes} bytes of an incomplete write)",
        ScanEnd.Corrupt => $"corrupt record at offset {result.ValidLength} ({result.InvalidBytes} bytes from there not trusted)",
        _ => "not a segment file (bad header)",
    };
}
