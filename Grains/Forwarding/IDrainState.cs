namespace Ingest.Forwarding;

/// <summary>Whether this silo is drained, for its status (<c>Hosting/NodeDrain</c> says; the forwarding grain reports it).</summary>
internal interface IDrainState
{
    /// <summary><c>serving</c>, <c>draining</c> (with what it waits for) or <c>drained</c>.</summary>
    (string State, string? Waiting) State();
}
