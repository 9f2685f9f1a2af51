using System.Diagnostics.Metrics;

namespace Ingest.Tests.Infrastructure;

/// <summary>
/// The sum of what one counter of one silo measured since this was created: the silo's meters are told apart
/// by their <see cref="IMeterFactory"/> (several silos in one test process all have a meter named "Ingest").
/// </summary>
public sealed class InstrumentSum : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public InstrumentSum(IMeterFactory meters, string instrument)
    {
        _listener.InstrumentPublished = (published, listener) =>
        {
            if (published.Name == instrument && ReferenceEquals(published.Meter.Scope, meters))
            {
                listener.EnableMeasurementEvents(published);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _total, value));
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
