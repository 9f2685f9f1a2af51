using System.Collections.Concurrent;
using Ingest.Diagnostics;
using Ingest.Options;
using Microsoft.Extensions.Options;

namespace Ingest.Topics;

/// <summary>
/// The idempotency keys this silo remembers: per topic (or shard) key and scope (producer key and
/// <c>Idempotency-Key</c>), the answer of the request that first used it, for <c>Ingest:IdempotencyWindow</c>.
/// A key whose request is still being stored is held as pending, so a concurrent repeat waits for that answer
/// instead of storing again. Bounded by <c>Ingest:IdempotencyMaxKeys</c>: past it the oldest keys are
/// forgotten early. Entries exist only for requests that carried a key: memory follows that traffic.
/// </summary>
internal sealed class RememberedKeys(IOptions<IngestOptions> options, TimeProvider time, IngestInstruments instruments)
{
    private readonly ConcurrentDictionary<(string Topic, string Scope), Entry> _entries = new();
    private readonly ConcurrentQueue<((string Topic, string Scope) Key, Entry Entry)> _byAge = new();
    private readonly ConcurrentDictionary<string, byte> _recovered = new(StringComparer.Ordinal);
    private readonly long _windowMs = (long)options.Value.IdempotencyWindow.TotalMilliseconds;
    private readonly int _maxKeys = options.Value.IdempotencyMaxKeys;
    private int _count;

    /// <summary>How many keys are remembered now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Claims <paramref name="scope"/> for a request about to be stored: returns null and the new pending entry,
    /// or the entry of the request that used it first (pending, or answered within the window).
    /// </summary>
    public Entry? Claim(string topic, string scope, out Entry claimed)
    {
        Trim();
        var key = (topic, scope);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var fresh = new Entry(now + _windowMs);
        while (true)
        {
            if (_entries.TryAdd(key, fresh))
            {
                Added(key, fresh);
                claimed = fresh;
                return null;
            }

            if (_entries.TryGetValue(key, out var existing))
            {
                if (existing.ExpiresAtMs > now)
                {
                    claimed = existing;
                    return existing;
                }

                if (_entries.TryUpdate(key, fresh, existing))
                {
                    _byAge.Enqueue((key, fresh)); // the same key again: counted once
                    claimed = fresh;
                    return null;
                }
            }
        }
    }

    /// <summary>The request of a pending entry was answered: kept if it was stored, else forgotten (a retry may store it).</summary>
    public void Settle(string topic, string scope, Entry entry, RequestAnswer answer)
    {
        if (answer.Status != AppendStatus.Appended)
        {
            Forget((topic, scope), entry);
        }

        entry.Answer(answer);
    }

    /// <summary>True the first time it is asked for <paramref name="topic"/> in this process: its keys must be read back from disk.</summary>
    public bool NeedsRecovery(string topic) => _recovered.TryAdd(topic, 0);

    /// <summary>A key found on disk (written before this process started): remembered for the rest of its window.</summary>
    public void Recovered(string topic, string scope, int records, long storedAtMs)
    {
        var entry = new Entry(storedAtMs + _windowMs);
        if (entry.ExpiresAtMs <= time.GetUtcNow().ToUnixTimeMilliseconds() || !_entries.TryAdd((topic, scope), entry))
        {
            return;
        }

        Added((topic, scope), entry);
        entry.Answer(new RequestAnswer(AppendStatus.Appended, records, Replayed: false));
    }

    /// <summary>Now, by the clock the window keeps time with (Unix ms).</summary>
    public long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The window's start for keys read back from disk (Unix ms).</summary>
    public long OldestKeptMs => NowMs - _windowMs;

    private void Added((string Topic, string Scope) key, Entry entry)
    {
        Interlocked.Increment(ref _count);
        _byAge.Enqueue((key, entry));
    }

    private void Forget((string Topic, string Scope) key, Entry entry)
    {
        if (_entries.TryRemove(new KeyValuePair<(string, string), Entry>(key, entry)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Drops keys past their window, and the oldest ones while over the limit (oldest first: the queue is in claim order).</summary>
    private void Trim()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        while (_byAge.TryPeek(out var oldest))
        {
            var expired = oldest.Entry.ExpiresAtMs <= now;
            var over = Volatile.Read(ref _count) >= _maxKeys;
            if (!expired && !over)
            {
                return;
            }

            if (!_byAge.TryDequeue(out oldest))
            {
                return;
            }

            if (!oldest.Entry.IsSettled && !expired)
            {
                _byAge.Enqueue(oldest); // still being stored: never forgotten under a waiting repeat
                return;
            }

            if (_entries.TryRemove(new KeyValuePair<(string, string), Entry>(oldest.Key, oldest.Entry)))
            {
                Interlocked.Decrement(ref _count);
                if (!expired)
                {
                    instruments.IdempotencyForgotten.Add(1);
                }
            }
        }
    }

    /// <summary>One remembered request: its answer (once it has one) and when it is forgotten.</summary>
    public sealed class Entry(long expiresAtMs)
    {
        private readonly TaskCompletionSource<RequestAnswer> _answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long ExpiresAtMs { get; } = expiresAtMs;

        public bool IsSettled => _answer.Task.IsCompleted;

        /// <summary>The first request's answer; a repeat awaits it.</summary>
        public Task<RequestAnswer> Answered => _answer.Task;

        public void Answer(RequestAnswer answer) => _answer.TrySetResult(answer);
    }
}
