using Confluent.Kafka;

namespace Ingest.Tests.Kafka;

/// <summary>A plain Confluent.Kafka consumer, independent of the code under test.</summary>
internal static class KafkaTestClient
{
    /// <summary>
    /// Proves that no broker of <paramref name="bootstrap"/> answers: a plain producer's delivery fails
    /// with a local timeout or transport error. Its connection errors are expected, so it logs nothing.
    /// </summary>
    public static async Task AssertUnreachableAsync(string bootstrap)
    {
        using var probe = new ProducerBuilder<Null, string>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            MessageTimeoutMs = 1500,
            SocketTimeoutMs = 1000,
        }).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
        var error = await Assert.ThrowsAsync<ProduceException<Null, string>>(() => probe.ProduceAsync("probe", new Message<Null, string> { Value = "x" }));
        Assert.True(error.Error.IsLocalError, $"expected a local timeout/transport error from {bootstrap}, got {error.Error}");
    }

    public sealed record Consumed(string? Key, string Value, int Partition, long Offset, IReadOnlyDictionary<string, string> Headers);

    /// <summary>Reads a topic from the beginning until <paramref name="expected"/> messages arrived or the deadline passed.</summary>
    public static List<Consumed> ReadAll(string bootstrap, string topic, int expected, TimeSpan timeout) =>
        Read(bootstrap, topic, messages => messages.Count >= expected, timeout);

    /// <summary>
    /// Reads a topic from the beginning until every id in <paramref name="ids"/> (the "id" field of a
    /// JSON value) was seen — duplicates do not count twice — or the deadline passed.
    /// </summary>
    public static List<Consumed> ReadUntilSeen(string bootstrap, string topic, IReadOnlyCollection<string> ids, TimeSpan timeout)
    {
        var missing = new HashSet<string>(ids);
        var checkedUpTo = 0;
        return Read(bootstrap, topic, messages =>
        {
            for (; checkedUpTo < messages.Count; checkedUpTo++)
            {
                missing.Remove(System.Text.Json.JsonDocument.Parse(messages[checkedUpTo].Value).RootElement.GetProperty("id").GetString()!);
            }

            return missing.Count == 0;
        }, timeout);
    }

    /// <summary>
    /// Reads a topic from the beginning on several independent clusters at once until every id was seen
    /// on one of them, or the deadline passed. Returns what each cluster held, in the order given.
    /// </summary>
    public static List<Consumed>[] ReadUntilSeenAcross(IReadOnlyList<string> bootstraps, string topic, IReadOnlyCollection<string> ids, TimeSpan timeout)
    {
        var missing = new HashSet<string>(ids);
        var results = bootstraps.Select(_ => new List<Consumed>()).ToArray();
        var consumers = bootstraps.Select(bootstrap => NewConsumer(bootstrap, topic)).ToArray();
        try
        {
            var deadline = DateTime.UtcNow + timeout;
            while (missing.Count > 0 && DateTime.UtcNow < deadline)
            {
                for (var i = 0; i < consumers.Length; i++)
                {
                    if (Next(consumers[i], TimeSpan.FromMilliseconds(50)) is { } message)
                    {
                        results[i].Add(message);
                        missing.Remove(System.Text.Json.JsonDocument.Parse(message.Value).RootElement.GetProperty("id").GetString()!);
                    }
                }
            }

            return results;
        }
        finally
        {
            foreach (var consumer in consumers)
            {
                consumer.Close();
                consumer.Dispose();
            }
        }
    }

    private static IConsumer<byte[], byte[]> NewConsumer(string bootstrap, string topic)
    {
        var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "test-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            TopicMetadataRefreshIntervalMs = 1000,
        }).Build();
        consumer.Subscribe(topic);
        return consumer;
    }

    private static Consumed? Next(IConsumer<byte[], byte[]> consumer, TimeSpan wait)
    {
        var result = consumer.Consume(wait);
        if (result?.Message is null || result.IsPartitionEOF)
        {
            return null;
        }

        return new Consumed(
            result.Message.Key is null ? null : System.Text.Encoding.UTF8.GetString(result.Message.Key),
            System.Text.Encoding.UTF8.GetString(result.Message.Value),
            result.Partition.Value,
            result.Offset.Value,
            (result.Message.Headers ?? []).ToDictionary(h => h.Key, h => System.Text.Encoding.UTF8.GetString(h.GetValueBytes())));
    }

    private static List<Consumed> Read(string bootstrap, string topic, Func<List<Consumed>, bool> done, TimeSpan timeout)
    {
        using var consumer = NewConsumer(bootstrap, topic);
        var messages = new List<Consumed>();
        var deadline = DateTime.UtcNow + timeout;
        while (!done(messages) && DateTime.UtcNow < deadline)
        {
            if (Next(consumer, TimeSpan.FromMilliseconds(200)) is { } message)
            {
                messages.Add(message);
            }
        }

        consumer.Close();
        return messages;
    }
}
