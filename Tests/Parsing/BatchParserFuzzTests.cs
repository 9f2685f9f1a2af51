using System.Buffers;
using System.Text;
using System.Text.Json;
using Ingest.Api.Parsing;
using Ingest.Records;

namespace Ingest.Tests.Parsing;

/// <summary>
/// Property tests of the batch parsers on generated batches (with CRLF, blank lines and a BOM) and on
/// random mutations of them: they never throw; a generated batch gives exactly its records, each equal
/// to what was sent; whatever they accept is framed records that are each one valid JSON value.
/// </summary>
public sealed class BatchParserFuzzTests
{
    private static readonly char[] JsonWhitespace = [' ', '\t', '\r', '\n'];
    private static readonly RecordStamp Stamp = new(1_763_856_000_000, ReadOnlyMemory<byte>.Empty, false);

    [Fact]
    public void generated_ndjson_and_json_array_batches_parse_to_exactly_their_records()
    {
        var random = new Random(20261123);
        for (var n = 0; n < 3000; n++)
        {
            var values = Enumerable.Range(0, random.Next(1, 12)).Select(_ => Value(random)).ToList();
            var ndjson = Ndjson(values, random);
            var array = Encoding.UTF8.GetBytes("[" + string.Join(",", values) + "]");

            foreach (var (body, parse) in new (byte[], Func<byte[], ArrayBufferWriter<byte>, ParseResult>)[]
                     {
                         (ndjson, (b, frames) => BatchParser.ParseNdjson(b, Stamp, 1 << 20, validateJson: true, frames)),
                         (array, (b, frames) => BatchParser.ParseJsonArray(b, Stamp, 1 << 20, frames)),
                     })
            {
                var frames = new ArrayBufferWriter<byte>();
                var result = parse(body, frames);
                Assert.True(result.Status == ParseStatus.Ok, $"{result.Status} ({result.Detail}) for: {Encoding.UTF8.GetString(body)}");
                var records = Decode(frames.WrittenSpan);
                Assert.Equal(values.Count, result.Records);
                Assert.Equal(values.Count, records.Count);
                for (var i = 0; i < values.Count; i++)
                {
                    // Bytes kept exactly as sent (only the whitespace around a value is not part of the record).
                    Assert.Equal(values[i].Trim(JsonWhitespace), records[i].Trim(JsonWhitespace));
                }
            }
        }
    }

    [Fact]
    public void mutated_batches_never_throw_and_whatever_is_accepted_is_valid_json_records()
    {
        var random = new Random(112326);
        int accepted = 0, refused = 0;
        for (var n = 0; n < 20_000; n++)
        {
            var values = Enumerable.Range(0, random.Next(1, 8)).Select(_ => Value(random)).ToList();
            var body = n % 2 == 0 ? Ndjson(values, random) : Encoding.UTF8.GetBytes("[" + string.Join(",", values) + "]");
            body = JsonSyntaxTests.Mutate(body, random);
            var frames = new ArrayBufferWriter<byte>();
            var result = n % 2 == 0
                ? BatchParser.ParseNdjson(body, Stamp, 4096, validateJson: true, frames)
                : BatchParser.ParseJsonArray(body, Stamp, 4096, frames);

            if (result.Status != ParseStatus.Ok)
            {
                Assert.False(string.IsNullOrEmpty(result.Detail), "a refusal says why"); // the handler then drops every frame
                refused++;
                continue;
            }

            var records = Decode(frames.WrittenSpan);
            Assert.Equal(result.Records, records.Count);
            foreach (var record in records)
            {
                using var _ = JsonDocument.Parse(record); // throws if a framed record is not one JSON value
            }

            accepted++;
        }

        Assert.True(accepted > 2000 && refused > 2000, $"both outcomes exercised: {accepted} accepted, {refused} refused");
    }

    private static string Value(Random random)
    {
        var builder = new StringBuilder();
        JsonSyntaxTests.WriteValue(builder, random, depth: 0);
        return builder.ToString().Replace("\r", " ").Replace("\n", " ");
    }

    /// <summary>One value per line, lines ended by LF or CRLF, blank lines between some, sometimes a BOM.</summary>
    private static byte[] Ndjson(List<string> values, Random random)
    {
        var text = new StringBuilder();
        foreach (var value in values)
        {
            if (random.Next(5) == 0)
            {
                text.Append(random.Next(2) == 0 ? "\n" : "\r\n");
            }

            text.Append(value).Append(random.Next(2) == 0 ? "\n" : "\r\n");
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        return random.Next(4) == 0 ? [0xEF, 0xBB, 0xBF, .. bytes] : bytes;
    }

    private static List<string> Decode(ReadOnlySpan<byte> frames)
    {
        var records = new List<string>();
        while (!frames.IsEmpty)
        {
            Assert.Equal(FrameStatus.Ok, RecordFrame.TryRead(frames, out var record, out var size));
            records.Add(Encoding.UTF8.GetString(record.Value));
            frames = frames[size..];
        }

        return records;
    }
}
