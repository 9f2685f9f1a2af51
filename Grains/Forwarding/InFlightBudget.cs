using System.Collections.Concurrent;

namespace Ingest.Forwarding;

/// <summary>
/// The silo's one bound on forwarding memory and duplicates, shared by every topic
/// (<c>Kafka:MaxInFlightRecords</c>, <c>Kafka:MaxInFlightBytes</c>). A record takes one from the record
/// budget when it is sent and gives it back once the checkpoint that covers it is written (so what a
/// crash can send twice stays within it); its bytes come back when Kafka acknowledges it. A topic that
/// finds the budget spent waits in line here and is woken, oldest first, when some comes back: 10,000
/// topics with Kafka down hold no more than 10 would.
/// <para>No overtaking: while topics wait, a topic that is not one of them is refused even if budget is
/// free, and a woken topic holds a <see cref="BudgetPass"/> for its next turn. Otherwise the topics that
/// are busy anyway (appends wake them all the time) would take every record that comes back, and a
/// woken topic would find the budget spent again: under contention some topics starved for tens of
/// seconds (bench/README.md, outage).</para>
/// </summary>
internal sealed class InFlightBudget(int maxRecords, long maxBytes)
{
    private readonly ConcurrentQueue<(BudgetPass Pass, Action Wake)> _waiting = new();
    private long _records;
    private long _bytes;
    private int _passes;

    public int MaxRecords => maxRecords;

    public long MaxBytes => maxBytes;

    public long Records => Volatile.Read(ref _records);

    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>Topics woken for budget whose turn has not ended yet, and topics waiting in line.</summary>
    public int Queued => Volatile.Read(ref _passes) + _waiting.Count;

    private bool Available => Volatile.Read(ref _records) < maxRecords && Volatile.Read(ref _bytes) < maxBytes;

    /// <summary>
    /// Takes one record of <paramref name="bytes"/>; false when either budget is spent, or when topics wait
    /// in line and <paramref name="pass"/> is not one of theirs (nothing is taken then).
    /// </summary>
    public bool TryTake(int bytes, BudgetPass pass)
    {
        if (!pass.Held && (Volatile.Read(ref _passes) > 0 || !_waiting.IsEmpty))
        {
            return false;
        }

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

    /// <summary>
    /// Puts the topic of <paramref name="pass"/> in line (once, however often it asks): <paramref name="wake"/> is
    /// called when budget comes back and it is first in line (or at once, if budget is free now).
    /// </summary>
    public void WhenAvailable(BudgetPass pass, Action wake)
    {
        if (Interlocked.Exchange(ref pass.Queued, 1) == 1)
        {
            return; // in line already (a topic refused with its pass in hand goes back in line: its pass ends with its turn)
        }

        _waiting.Enqueue((pass, wake));
        if (Available)
        {
            Wake(1); // budget came back between the refusal and the registration
        }
    }

    /// <summary>A topic's turn ended: the pass it was woken with (if any) is used up; the next in line is woken if budget is free.</summary>
    public void EndTurn(BudgetPass pass)
    {
        if (Interlocked.Exchange(ref pass.HeldFlag, 0) == 0)
        {
            return;
        }

        Interlocked.Decrement(ref _passes);
        if (Available)
        {
            Wake(1);
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

    /// <summary>Wakes up to <paramref name="count"/> waiting topics, oldest first, each with its pass: each takes at least one record, so no herd.</summary>
    private void Wake(int count)
    {
        for (var i = 0; i < count && _waiting.TryDequeue(out var next); i++)
        {
            Volatile.Write(ref next.Pass.Queued, 0);
            if (Interlocked.Exchange(ref next.Pass.HeldFlag, 1) == 0)
            {
                Interlocked.Increment(ref _passes); // one pass per topic: one woken again mid-turn keeps the one it has
            }

            next.Wake();
        }
    }
}

/// <summary>One topic's place with the <see cref="InFlightBudget"/>: whether it waits in line, and whether it was woken and may take budget first in its next turn.</summary>
internal sealed class BudgetPass
{
    /// <summary>1 while the topic waits in line.</summary>
    internal int Queued;

    /// <summary>1 while the topic holds its pass.</summary>
    internal int HeldFlag;

    /// <summary>Woken for budget; cleared when the turn ends (<see cref="InFlightBudget.EndTurn"/>).</summary>
    public bool Held => Volatile.Read(ref HeldFlag) == 1;
}
