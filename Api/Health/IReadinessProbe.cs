namespace Ingest.Api.Health;

/// <summary>Answers <c>GET /readyz</c>: can this node accept records right now, and if not, why.</summary>
public interface IReadinessProbe
{
    ValueTask<ReadinessReport> CheckAsync(CancellationToken cancellationToken);
}

/// <param name="ActiveSilos">Active silos in this node's view of the cluster, when known.</param>
/// <param name="PlacesOn">Of those, the silos this node can place a topic on (a silo knows another's grain types only once its manifest has arrived); null on a frontend, which places nothing.</param>
/// <param name="Kafka">This silo's Kafka connection ("up", "degraded: …", "disabled"); reported, never a reason to be unready.</param>
public sealed record ReadinessReport(bool Ready, IReadOnlyList<string> Reasons, int? ActiveSilos = null, string? Kafka = null, int? PlacesOn = null)
{
    public static ReadinessReport Yes { get; } = new(true, []);

    public static ReadinessReport No(params string[] reasons) => new(false, reasons);
}
