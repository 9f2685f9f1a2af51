using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Ingest.Tests.Kafka;

/// <summary>
/// What a load generator was promised: every record answered 202, with its key and its per-key
/// sequence. Checked against what a consumer read from Kafka.
/// </summary>
internal sealed class Ledger
{
    private readonly ConcurrentDictionary<string, (string? Key, string Value)> _acked = new();
    private int _refused;

    public int Count => _acked.Count;

    public IReadOnlyCollection<string> Ids => _acked.Keys.ToList();

    /// <summary>Reads the topic until every acknowledged record was seen, then checks it all.</summary>
    public (List<KafkaTestClient.Consumed> Consumed, int Duplicates) ReadAndAssertDelivered(string bootstrap, string topic, TimeSpan timeout, bool keyOrder = true)
    {
        var consumed = KafkaTestClient.ReadUntilSeen(bootstrap, topic, Ids, timeout);
        return (consumed, AssertDelivered(consumed, keyOrder));
    }

    public int Refused => Volatile.Read(ref _refused);

    /// <summary>The body of the last refused request (its problem detail), for failure messages.</summary>
    public string? LastRefusal { get; private set; }

    public static string Record(string id, string? key, int sequence) =>
        JsonSerializer.Serialize(new { id, key, seq = sequence, pad = new string('r', 40) });

    /// <summary>POSTs one record; remembers it if it got 202. Returns the status.</summary>
    public async Task<HttpStatusCode> PostOne(HttpClient http, string topic, string id, string? key, int sequence)
    {
        var value = Record(id, key, sequence);
        var url = key is null ? $"/v1/topics/{topic}" : $"/v1/topics/{topic}?key={key}";
        var response = await http.PostAsync(url, new StringContent(value, Encoding.UTF8, "application/json"));
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            LastRefusal = await response.Content.ReadAsStringAsync();
        }

        Remember(response.StatusCode, [(id, key, value)]);
        return response.StatusCode;
    }

    /// <summary>POSTs an NDJSON batch whose records share one key (or none).</summary>
    public async Task<HttpStatusCode> PostBatch(HttpClient http, string topic, IReadOnlyList<(string Id, int Sequence)> records, string? key)
    {
        var lines = records.Select(r => (r.Id, Key: key, Value: Record(r.Id, key, r.Sequence))).ToList();
        var url = key is null ? $"/v1/topics/{topic}/batch" : $"/v1/topics/{topic}/batch?key={key}";
        var body = string.Join("\n", lines.Select(l => l.Value)) + "\n";
        var response = await http.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/x-ndjson"));
        Remember(response.StatusCode, lines);
        return response.StatusCode;
    }

    private void Remember(HttpStatusCode status, IEnumerable<(string Id, string? Key, string Value)> records)
    {
        if (status != HttpStatusCode.Accepted)
        {
            Interlocked.Increment(ref _refused);
            return;
        }

        foreach (var (id, key, value) in records)
        {
            _acked[id] = (key, value);
        }
    }

    /// <summary>Every acknowledged record is in <paramref name="consumed"/> with its key and value; per-key order holds. Returns the duplicate count.</summary>
    public int AssertDelivered(IReadOnlyList<KafkaTestClient.Consumed> consumed, bool keyOrder = true)
    {
        var byId = new Dictionary<string, KafkaTestClient.Consumed>();
        var duplicates = 0;
        foreach (var message in consumed)
        {
            var id = JsonDocument.Parse(message.Value).RootElement.GetProperty("id").GetString()!;
            if (!byId.TryAdd(id, message))
            {
                duplicates++;
            }
        }

        var missing = _acked.Keys.Where(id => !byId.ContainsKey(id)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {_acked.Count} records answered 202 are not in Kafka, e.g. {string.Join(", ", missing.Take(5))}");
        foreach (var (id, (key, value)) in _acked)
        {
            Assert.Equal(value, byId[id].Value);
            Assert.Equal(key, byId[id].Key);
            Assert.True(byId[id].Headers.ContainsKey("ingest-time"), "every message carries its ingest time");
        }

        if (!keyOrder)
        {
            return duplicates;
        }

        // Per key, the first delivery of each record comes in the order the records were sent.
        var seen = new HashSet<string>();
        foreach (var group in consumed.Where(m => m.Key is not null).GroupBy(m => m.Key))
        {
            var sequences = group
                .Select(m => JsonDocument.Parse(m.Value).RootElement)
                .Where(e => seen.Add(e.GetProperty("id").GetString()!))
                .Select(e => e.GetProperty("seq").GetInt32())
                .ToList();
            var broken = Enumerable.Range(1, Math.Max(0, sequences.Count - 1)).FirstOrDefault(i => sequences[i] < sequences[i - 1], -1);
            Assert.True(broken < 0, $"records of key {group.Key} arrived out of order at position {broken} of {sequences.Count}: ...{string.Join(",", sequences.Skip(Math.Max(0, broken - 5)).Take(15))}...");
        }

        return duplicates;
    }
}
