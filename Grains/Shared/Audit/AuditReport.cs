using Ingest.Topics;

namespace Ingest.Audit;

/// <summary>One topic's audit summed over the cluster's silos, hour by hour.</summary>
internal static class ClusterAudit
{
    /// <summary>Sums the silos' hours: counts add up, offset ranges widen.</summary>
    public static IReadOnlyList<AuditHour> Sum(IEnumerable<IReadOnlyList<AuditHour>> silos)
    {
        var hours = new SortedDictionary<long, AuditHour>();
        foreach (var hour in silos.SelectMany(s => s))
        {
            hours[hour.HourMs] = hours.TryGetValue(hour.HourMs, out var kept)
                ? new AuditHour(hour.HourMs, kept.Accepted + hour.Accepted, kept.Stored + hour.Stored, kept.Acked + hour.Acked, kept.SentAgain + hour.SentAgain, Widen(kept.Offsets, hour.Offsets))
                : hour;
        }

        return [.. hours.Values];
    }

    private static AuditOffsets[] Widen(IReadOnlyList<AuditOffsets> a, IReadOnlyList<AuditOffsets> b) =>
        a.Concat(b)
            .GroupBy(o => o.Partition)
            .Select(g => new AuditOffsets(g.Key, g.Min(o => o.First), g.Max(o => o.Last)))
            .OrderBy(o => o.Partition)
            .ToArray();
}

/// <summary>One hour of <c>audit verify</c>: the cluster's counts beside what Kafka holds.</summary>
/// <param name="Found">Distinct records (by <c>ingest-id</c>) in Kafka with an ingest time in the hour.</param>
/// <param name="ExtraCopies">Messages of the hour beyond the first of each record (resends, replays).</param>
/// <param name="Missing">Acknowledged by Kafka (and answered to a client) but not found there now.</param>
/// <param name="Unidentified">Messages of the hour without an <c>ingest-id</c> (other producers, older Ingest versions).</param>
internal sealed record VerifiedHour(DateTimeOffset Hour, long Accepted, long Stored, long Acked, long Pending, long Found, long Missing, long ExtraCopies, long Unidentified);

/// <summary>What <c>audit verify</c> found for a topic and window.</summary>
internal sealed record AuditVerification(string Topic, string KafkaTopic, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<VerifiedHour> Hours, long MessagesRead)
{
    public long Missing => Hours.Sum(h => h.Missing);

    public long ExtraCopies => Hours.Sum(h => h.ExtraCopies);

    public long Pending => Hours.Sum(h => h.Pending);
}

/// <summary>Reads a topic's records in a window back from Kafka and sets them beside the cluster's audit (registered where Kafka is: the silo).</summary>
internal interface IAuditVerifier
{
    Task<AuditVerification> VerifyAsync(string topic, DateTimeOffset from, DateTimeOffset to, IReadOnlyList<AuditHour> audit, CancellationToken cancellation);
}
