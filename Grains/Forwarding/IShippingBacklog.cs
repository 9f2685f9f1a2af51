namespace Ingest.Forwarding;

/// <summary>What a silo that leaves the cluster needs of its forwarding (<see cref="ForwardingEngine"/>).</summary>
internal interface IShippingBacklog
{
    /// <summary>Whether this silo ships to Kafka at all (false with <c>Kafka:Enabled=false</c>, or once stopped).</summary>
    bool IsRunning { get; }

    /// <summary>What waits on this silo's disk for Kafka's acknowledgement.</summary>
    (long Records, long Bytes) Backlog();

    /// <summary>Stops forwarding for good; every log persists its checkpoint.</summary>
    Task StopAsync(TimeSpan grace);
}
