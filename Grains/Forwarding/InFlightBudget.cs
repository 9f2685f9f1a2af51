using System.Collections.Concurrent;

namespace Ingest.Forwarding;

/// <summary>
/// The silo's one bound on forwarding memory and duplicates, shared by every topic
/// (<c>Kafka:MaxInFlightRecords</c>, <c>Kafka:MaxInFlightBytes</c>). A record takes one from the record
/// budget when it is sent and gives it back once the checkpoint that covers it is written (so what a
/// crash can send twice stays within it); its bytes come back when Kafka acknowledges it. A topic that
/// finds the budget spent waits here and is woken when some comes back: 10,000 topics with Kafka down
/// hold no more than 10 would.
/// </summary>
internal sealed class InFlightBudget(int maxRecords, long maxBytes)
{
    private readonly ConcurrentQueue<Action> _waiting = new();
    private long _records;
    private long _bytes;

    public int MaxRecords => maxRecords;

    public long MaxBytes => maxBytes;

    public long Records => Volatile.Read(ref _records);

    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Takes one record of <paramref name="bytes"/>; false when either budget is spent (nothing is taken then).</summary>
    public bool TryTake(int bytes)
    {
        if (Interlocked.Increment(ref _records) > maxRecords)
        {
            Interlocked.Decrement(ref _records);
            return false;
        }

        if (Interlocked.Add(ref _bytes, bytes) > maxBytes && Volatile.Read(ref _bytes) - bytes > 0)
        {
            // Over the byte budget, unless nothing else is in flight: a record larger than the budget still goes alone.
            Interlocked.Add(ref _bytes, -bytes);
            Interlocked.Decrement(ref _records);
            return false;
        }

        return true;
    }

    /// <summary>Calls <paramref name="wake"/> the next time budget comes back (or at once, if some did meanwhile).</summary>
    public void WhenAvailable(Action wake)
    {
        _waiting.Enqueue(wake);
        if (Volatile.Read(ref _records) < maxRecords && Volatile.Read(ref _bytes) < maxBytes)
        {
            Wake(1); // budget came back between the refusal and the registration
        }
    }

    public void ReleaseBytes(long bytes)
    {
        if (bytes > 0)
        {
            Interlocked.Add(ref _bytes, -bytes);
            Wake(1);
        }
    }

    public void ReleaseRecords(int records)
    {
        if (records > 0)
        {
            Interlocked.Add(ref _records, -records);
            Wake(records);
        }
    }

    /// <summary>Wakes up to <paramref name="count"/> waiting topics, oldest first: each takes at least one record, so no herd.</summary>
    private void Wake(int count)
    {
        for (var i = 0; i < count && _waiting.TryDequeue(out var wake); i++)
        {
            wake();
        }
    }
}
