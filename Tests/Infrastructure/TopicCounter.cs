using System.Diagnostics.Metrics;
using Ingest.Diagnostics;

namespace Ingest.Tests.Infrastructure;

/// <summary>Sums one Ingest counter's measurements for one topic, from the moment it is created.</summary>
public sealed class TopicCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public TopicCounter(string instrumentName, string topic)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == IngestInstruments.MeterName && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == IngestInstruments.TopicTag && (string?)tag.Value == topic)
                {
                    Interlocked.Add(ref _total, value);
                }
            }
        });
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
