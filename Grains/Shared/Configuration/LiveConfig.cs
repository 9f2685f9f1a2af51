namespace Ingest.Configuration;

/// <summary>
/// This node's copy of the cluster configuration, read on every request without a remote call. It
/// starts as the node's local seed (<see cref="ClusterConfig.Version"/> 0, from its own settings) and
/// takes every newer version the <see cref="ConfigSubscriber"/> receives. If the cluster cannot be
/// reached, the last version received stays in force.
/// </summary>
public sealed class LiveConfig(ClusterConfig seed)
{
    private readonly Lock _gate = new();
    private readonly List<Action<ClusterConfig>> _listeners = [];
    private ClusterConfig _current = seed with { Version = 0 };

    public ClusterConfig Current => Volatile.Read(ref _current);

    /// <summary>Whether this node has received the cluster's configuration at least once.</summary>
    public bool FromCluster => Current.Version > 0;

    /// <summary>Takes <paramref name="config"/> if it is newer than the current one; returns whether it did.</summary>
    public bool Offer(ClusterConfig config)
    {
        lock (_gate)
        {
            if (config.Version <= _current.Version)
            {
                return false;
            }

            Volatile.Write(ref _current, config);
            // Under the lock, so listeners see versions in order. They only swap their own snapshots.
            foreach (var listener in _listeners)
            {
                listener(config);
            }

            return true;
        }
    }

    /// <summary>Calls <paramref name="listener"/> now with the current configuration, and with every newer one.</summary>
    public IDisposable Subscribe(Action<ClusterConfig> listener)
    {
        lock (_gate)
        {
            _listeners.Add(listener);
            listener(_current);
        }

        return new Subscription(this, listener);
    }

    private sealed class Subscription(LiveConfig owner, Action<ClusterConfig> listener) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._listeners.Remove(listener);
            }
        }
    }
}
