using Ingest.Tests.Infrastructure;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Ingest.Tests.Kafka;

namespace Ingest.Tests.Partitions;

/// <summary>
/// Paced single-record POSTs over many topics through one frontend, each answer timed: what got a 202
/// goes into the topic's ledger, every other answer is counted by status, and a request that got no
/// answer within the client's timeout is counted as unanswered, with the longest wait seen.
/// </summary>
internal sealed class TimedLoad : LoadClients
{
    private int _accepted;
    private long _longestTicks;

    public TimedLoad(HttpClient http, IReadOnlyList<string> topics, ConcurrentDictionary<string, Ledger> ledgers, int clients = 16)
    {
        Run(clients, async c =>
        {
            // A pacing schedule (each client at most 50 requests a second), not a wait for an event.
            using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
            for (var i = 0; !Stopping && await pace.WaitForNextTickAsync(); i++)
            {
                var topic = topics[(i * 7 + c) % topics.Count];
                var clock = Stopwatch.StartNew();
                var sent = Stopwatch.GetTimestamp();
                string outcome;
                try
                {
                    var status = await ledgers[topic].PostOne(http, topic, $"{topic}-c{c}-{i}", $"k{c % 4}", i);
                    outcome = status == HttpStatusCode.Accepted ? "202" : ((int)status).ToString();
                    if (status == HttpStatusCode.Accepted)
                    {
                        Interlocked.Increment(ref _accepted);
                        _lastAcceptedSent.AddOrUpdate(topic, sent, (_, last) => Math.Max(last, sent));
                    }
                }
                catch (TaskCanceledException) when (!Stopping)
                {
                    outcome = "no answer";
                }
                catch (HttpRequestException e)
                {
                    outcome = $"connection: {e.HttpRequestError}";
                }

                Outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                var ticks = clock.Elapsed.Ticks;
                long longest;
                while (ticks > (longest = Interlocked.Read(ref _longestTicks)) && Interlocked.CompareExchange(ref _longestTicks, ticks, longest) != longest)
                {
                }
            }
        });
    }

    private readonly ConcurrentDictionary<string, long> _lastAcceptedSent = new();

    /// <summary>When the last request of <paramref name="topic"/> that got a 202 was sent (<see cref="Stopwatch"/> ticks), or 0.</summary>
    public long LastAccepted(string topic) => _lastAcceptedSent.TryGetValue(topic, out var sent) ? sent : 0;

    /// <summary>Answers by outcome: "202", another status code, "no answer", or a connection error.</summary>
    public ConcurrentDictionary<string, int> Outcomes { get; } = new();

    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>The longest any request waited for its answer (or for the client to give up).</summary>
    public TimeSpan Longest => TimeSpan.FromTicks(Interlocked.Read(ref _longestTicks));

    /// <summary>Forgets the longest wait so far (after the start-up, say).</summary>
    public void ResetLongest() => Interlocked.Exchange(ref _longestTicks, 0);

    public override string ToString() =>
        $"{string.Join(", ", Outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}: {o.Value}"))}; longest wait {Longest.TotalSeconds:0.0} s";
}
