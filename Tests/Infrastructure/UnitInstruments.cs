using System.Diagnostics.Metrics;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Ingest.Storage;

namespace Ingest.Tests.Infrastructure;

/// <summary>The silo's instruments for tests without a silo: real meters nobody listens to.</summary>
internal static class UnitInstruments
{
    public static IngestInstruments For(DiskBudget budget, TimeProvider? time = null, IMeterFactory? meters = null) =>
        new(meters ?? new Meters(), new TopicLabels(new LiveConfig(new ClusterConfig())), budget, time ?? TimeProvider.System);

    /// <summary>A meter factory of its own: a listener can tell its meters from every other test's by it.</summary>
    public static IMeterFactory NewMeters() => new Meters();

    private sealed class Meters : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
