using System.Text;
using Ingest.Records;
using Ingest.Segments;

namespace Ingest.Tests.Infrastructure;

/// <summary>A record read back from a segment (its CRC was checked by the reader).</summary>
public sealed record StoredRecord(string Segment, long Offset, long TimestampMs, byte[]? Key, byte[] Value, IReadOnlyList<KeyValuePair<string, string>>? Headers = null)
{
    /// <summary>The value of the frame header <paramref name="name"/>, or null.</summary>
    public string? Header(string name) => Headers?.FirstOrDefault(h => h.Key == name).Value;

    public static IReadOnlyList<KeyValuePair<string, string>>? HeadersOf(in RecordView record)
    {
        if (record.Headers.IsEmpty)
        {
            return null;
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var header in record.Headers)
        {
            headers.Add(new(Encoding.UTF8.GetString(header.Name), Encoding.UTF8.GetString(header.Value)));
        }

        return headers;
    }

    public string ValueText => Encoding.UTF8.GetString(Value);

    public string? KeyText => Key is null ? null : Encoding.UTF8.GetString(Key);
}

public static class StoredRecords
{
    /// <summary>Every record of a topic in a data directory, in write order (segment name, then offset).</summary>
    public static List<StoredRecord> Read(string dataDirectory, string topic)
    {
        var records = new List<StoredRecord>();
        var directory = Path.Combine(dataDirectory, "segments", topic);
        if (!Directory.Exists(directory))
        {
            return records;
        }

        foreach (var file in SegmentsOf(directory))
        {
            var name = Path.GetFileName(file);
            var scan = SegmentReader.Scan(file, (in RecordView record, long offset) =>
                records.Add(new StoredRecord(name, offset, record.TimestampMs, record.HasKey ? record.Key.ToArray() : null, record.Value.ToArray(), StoredRecord.HeadersOf(record))));
            Assert.True(scan.End == ScanEnd.Clean, $"{file} should scan clean but ended {scan.End} at {scan.ValidLength} of {scan.FileLength}");
        }

        return records;
    }

    /// <summary>Every archived record of a topic: archive/&lt;day&gt;/&lt;topic&gt;/*.seg, by day then segment.</summary>
    public static List<StoredRecord> ReadArchive(string dataDirectory, string topic)
    {
        var records = new List<StoredRecord>();
        foreach (var file in ArchivedSegments(dataDirectory, topic))
        {
            var name = Path.GetFileName(file);
            var scan = SegmentReader.Scan(file, (in RecordView record, long offset) =>
                records.Add(new StoredRecord(name, offset, record.TimestampMs, record.HasKey ? record.Key.ToArray() : null, record.Value.ToArray(), StoredRecord.HeadersOf(record))));
            Assert.True(scan.End == ScanEnd.Clean, $"{file} should scan clean but ended {scan.End}");
        }

        return records;
    }

    /// <summary>archive/&lt;day&gt;/&lt;topic&gt;/*.seg, by day then name.</summary>
    public static string[] ArchivedSegments(string dataDirectory, string topic)
    {
        var archive = Path.Combine(dataDirectory, "archive");
        return Directory.Exists(archive)
            ? Directory.GetDirectories(archive).Order(StringComparer.Ordinal)
                .Select(day => Path.Combine(day, topic))
                .Where(Directory.Exists)
                .SelectMany(directory => Directory.GetFiles(directory, "*.seg").Order(StringComparer.Ordinal))
                .ToArray()
            : [];
    }

    public static string[] SegmentsOf(string topicDirectory) =>
        Directory.GetFiles(topicDirectory)
            .Where(f => f.EndsWith(".seg", StringComparison.Ordinal) || f.EndsWith(".active", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();
}
