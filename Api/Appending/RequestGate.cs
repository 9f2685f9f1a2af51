using Ingest.Api.Options;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Appending;

/// <summary>
/// Caps the ingest requests this node works on at once (<c>Ingest:MaxConcurrentRequests</c>). Past the
/// cap a request is refused at once with 503 instead of waiting: under overload the excess is shed in
/// microseconds, and memory stays bounded by cap × request size whatever the offered load.
/// </summary>
internal sealed class RequestGate(IOptions<IngestApiOptions> options)
{
    private readonly int _max = options.Value.MaxConcurrentRequests;
    private int _inProgress;

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _inProgress) <= _max)
        {
            return true;
        }

        Interlocked.Decrement(ref _inProgress);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _inProgress);

    /// <summary>How many more requests the node would take now (0 at its cap).</summary>
    public int Room => Math.Max(0, _max - Volatile.Read(ref _inProgress));
}
