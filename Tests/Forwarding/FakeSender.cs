using System.Text;
using Confluent.Kafka;
using ErrorCode = Confluent.Kafka.ErrorCode;
using Ingest.Forwarding;
using Ingest.Records;

namespace Ingest.Tests.Forwarding;

/// <summary>
/// A Kafka that the test answers by hand: every record sent is kept with its entry, and the test
/// delivers or fails reports in whatever order it likes, replaces the producer, or fills its queue.
/// </summary>
internal sealed class FakeSender : IRecordSender
{
    private readonly List<Sent> _sent = [];
    private readonly Lock _gate = new();

    public int Generation { get; set; }

    /// <summary>When set, every send is refused as if the producer's queue were full.</summary>
    public bool QueueFull { get; set; }

    public List<string> TopicsEnsured { get; } = [];

    public IReadOnlyList<Sent> All
    {
        get
        {
            lock (_gate)
            {
                return [.. _sent];
            }
        }
    }

    /// <summary>Values of the records sent, in the order sent.</summary>
    public IReadOnlyList<string> Values => [.. All.Select(s => s.Value)];

    public SendOutcome Send(string kafkaTopic, in RecordView record, InFlight entry, byte[]? id)
    {
        if (QueueFull)
        {
            return SendOutcome.QueueFull;
        }

        lock (_gate)
        {
            _sent.Add(new Sent(kafkaTopic, record.HasKey ? Encoding.UTF8.GetString(record.Key) : null, Encoding.UTF8.GetString(record.Value), entry, Generation)
            {
                Id = id is null ? null : Encoding.ASCII.GetString(id),
            });
        }

        return SendOutcome.Sent;
    }

    public void EnsureTopic(string kafkaTopic) => TopicsEnsured.Add(kafkaTopic);

    /// <summary>Answers the sends at <paramref name="indexes"/> (in send order) with success: partition 0, the send's index as its offset.</summary>
    public void Deliver(params int[] indexes)
    {
        foreach (var index in indexes)
        {
            All[index].Entry.OnDelivered(Success(index));
        }
    }

    /// <summary>Answers every send not answered yet with success (as <see cref="Deliver"/>).</summary>
    public void DeliverAll()
    {
        var all = All;
        for (var i = 0; i < all.Count; i++)
        {
            if (!all[i].Answered)
            {
                all[i].Answered = true;
                all[i].Entry.OnDelivered(Success(i));
            }
        }
    }

    private static DeliveryReport<byte[]?, byte[]> Success(int index) => new()
    {
        Error = new Error(ErrorCode.NoError),
        TopicPartitionOffset = new TopicPartitionOffset("fake", new Partition(0), new Offset(index)),
    };

    public void Fail(int index, string reason = "Broker: Not enough in-sync replicas") =>
        All[index].Entry.OnDelivered(new DeliveryReport<byte[]?, byte[]> { Error = new Error(ErrorCode.NotEnoughReplicas, reason) });

    public void Clear()
    {
        lock (_gate)
        {
            _sent.Clear();
        }
    }

    internal sealed record Sent(string Topic, string? Key, string Value, InFlight Entry, int Generation)
    {
        public bool Answered { get; set; }

        /// <summary>The <c>ingest-id</c> header it was sent with, or null.</summary>
        public string? Id { get; init; }
    }
}
