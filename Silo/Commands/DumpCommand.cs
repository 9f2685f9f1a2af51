using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Ingest.Records;
using Ingest.Segments;

namespace Ingest.Silo.Commands;

/// <summary>
/// <c>dump [--count] &lt;segment-file&gt;</c>: prints each record of a segment as one JSON object per line
/// (offset, timestamp, key, value; text when valid UTF-8, else base64), then a summary on stderr.
/// With <c>--count</c> only the summary (every CRC is still checked). Read-only. Exit code 0 for a
/// clean segment, 3 when it ends in a torn tail or corruption.
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
            error.WriteLine("usage: dump [--count] <segment-file>");
            return 2;
        }

        if (!File.Exists(args[0]))
        {
            error.WriteLine($"dump: no such file: {args[0]}");
            return 2;
        }

        var buffer = new ArrayBufferWriter<byte>();
        var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        var result = SegmentReader.Scan(args[0], countOnly ? null : (in RecordView record, long offset) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("offset", offset);
            writer.WriteString("timestamp", DateTimeOffset.FromUnixTimeMilliseconds(record.TimestampMs));
            WriteBytes(writer, "key", record.Key, record.HasKey);
            WriteBytes(writer, "value", record.Value, present: true);
            writer.WriteEndObject();
            writer.Flush();
            output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
            buffer.ResetWrittenCount();
            writer.Reset();
        });
        writer.Dispose();
        output.Flush();

        error.WriteLine($"{args[0]}: {result.Records} record(s), {result.ValidLength} of {result.FileLength} bytes valid, {Describe(result)}");
        return result.End == ScanEnd.Clean ? 0 : 3;
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
