namespace Ingest.Api.Status;

/// <summary>What the status page links to besides this API (set by the host that serves it).</summary>
public sealed class StatusPageOptions
{
    /// <summary>Where this node serves the Orleans dashboard, or null if it serves none (an Api frontend, or <c>Dashboard:Enabled=false</c>).</summary>
    public string? DashboardPath { get; set; }
}
