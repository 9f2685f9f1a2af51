using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using Ingest.Records;

namespace Ingest.Api.Parsing;

internal enum ParseStatus
{
    Ok,
    Malformed,
    RecordTooLarge,
}

internal readonly record struct ParseResult(ParseStatus Status, int Records, string? Detail = null);

/// <summary>
/// Turns a batch body into frames. A batch is all-or-nothing: the whole body is parsed and framed
/// before anything is sent, so a malformed part means nothing of the batch is stored.
/// </summary>
internal static class BatchParser
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>
    /// <c>application/x-ndjson</c>: each non-empty line is one record; a trailing CR is part of the line
    /// break (CRLF), a leading UTF-8 BOM is dropped, blank lines are skipped.
    /// </summary>
    public static ParseResult ParseNdjson(ReadOnlySpan<byte> body, in RecordStamp stamp, int maxRecordBytes, bool validateJson, IBufferWriter<byte> frames)
    {
        if (body.StartsWith(Bom))
        {
            body = body[Bom.Length..];
        }

        var records = 0;
        var lineNumber = 0;
        while (!body.IsEmpty)
        {
            lineNumber++;
            var end = body.IndexOf((byte)'\n');
            var line = end < 0 ? body : body[..end];
            body = end < 0 ? [] : body[(end + 1)..];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            if (line.Trim(" \t"u8).IsEmpty)
            {
                continue;
            }

            if (!Utf8.IsValid(line))
            {
                return new(ParseStatus.Malformed, 0, $"Line {lineNumber} is not valid UTF-8.");
            }

            if (validateJson && !JsonSyntax.IsOneValue(line, out var error))
            {
                return new(ParseStatus.Malformed, 0, $"Line {lineNumber} is not one JSON value: {error}");
            }

            var status = Frame(line, stamp, records, maxRecordBytes, frames);
            if (status != ParseStatus.Ok)
            {
                return new(status, 0, $"Line {lineNumber} is {line.Length + stamp.KeyLength} bytes with its key, over Ingest:MaxRecordBytes={maxRecordBytes}.");
            }

            records++;
        }

        return records == 0
            ? new(ParseStatus.Malformed, 0, "The batch holds no record (only blank lines).")
            : new(ParseStatus.Ok, records);
    }

    /// <summary><c>application/json</c>: a top-level array; each element's JSON text is one record.</summary>
    public static ParseResult ParseJsonArray(ReadOnlySpan<byte> body, in RecordStamp stamp, int maxRecordBytes, IBufferWriter<byte> frames)
    {
        if (body.StartsWith(Bom))
        {
            body = body[Bom.Length..];
        }

        if (!Utf8.IsValid(body))
        {
            return new(ParseStatus.Malformed, 0, "The body is not valid UTF-8.");
        }

        var records = 0;
        try
        {
            var reader = new Utf8JsonReader(body, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return new(ParseStatus.Malformed, 0, "The body must be a JSON array of records.");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var start = (int)reader.TokenStartIndex;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }

                var element = body[start..(int)reader.BytesConsumed];
                if (Frame(element, stamp, records, maxRecordBytes, frames) != ParseStatus.Ok)
                {
                    return new(ParseStatus.RecordTooLarge, 0, $"Element {records} is {element.Length + stamp.KeyLength} bytes with its key, over Ingest:MaxRecordBytes={maxRecordBytes}.");
                }

                records++;
            }

            if (reader.TokenType != JsonTokenType.EndArray)
            {
                return new(ParseStatus.Malformed, 0, "The JSON array is not closed.");
            }

            if (reader.Read())
            {
                return new(ParseStatus.Malformed, 0, "Unexpected data after the JSON array.");
            }
        }
        catch (JsonException e)
        {
            return new(ParseStatus.Malformed, 0, $"Malformed JSON array (element {records}): {e.Message}");
        }

        return records == 0
            ? new(ParseStatus.Malformed, 0, "The batch is an empty array.")
            : new(ParseStatus.Ok, records);
    }

    private static ParseStatus Frame(ReadOnlySpan<byte> value, in RecordStamp stamp, int index, int maxRecordBytes, IBufferWriter<byte> frames)
    {
        if (value.Length + stamp.KeyLength > maxRecordBytes)
        {
            return ParseStatus.RecordTooLarge;
        }

        var key = stamp.Key.Span;
        if (stamp.Headers is not { } headers)
        {
            var span = frames.GetSpan(RecordFrame.SizeOf(stamp.KeyLength, value.Length));
            frames.Advance(RecordFrame.Write(span, stamp.TimestampMs, key, stamp.HasKey, value));
            return ParseStatus.Ok;
        }

        Span<byte> block = stackalloc byte[headers.MaxBlockLength];
        block = block[..headers.WriteBlock(block, index)];
        var withHeaders = frames.GetSpan(RecordFrame.SizeOf(stamp.KeyLength, value.Length, block.Length));
        frames.Advance(RecordFrame.Write(withHeaders, stamp.TimestampMs, key, stamp.HasKey, block, value));
        return ParseStatus.Ok;
    }
}

/// <summary>What every record of one request shares: its ingest time, its key, and its headers (null: none).</summary>
internal readonly record struct RecordStamp(long TimestampMs, ReadOnlyMemory<byte> Key, bool HasKey, RequestHeaders? Headers = null)
{
    public int KeyLength => HasKey ? Key.Length : 0;
}
