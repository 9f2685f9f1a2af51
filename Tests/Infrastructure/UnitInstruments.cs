using System.Diagnostics.Metrics;
using Ingest.Configuration;
using Ingest.Diagnostics;
using Ingest.Storage;

namespace Ingest.Tests.Infrastructure;

/// <summary>The silo's instruments for tests without a silo: real meters nobody listens to.</summary>
internal static class UnitInstruments
{
    public static IngestInstruments For(DiskBudget budget, TimeProvider? time = null) =>
        new(new Meters(), new TopicLabels(new LiveConfig(new ClusterConfig())), budget, time ?? TimeProvider.System);

    private sealed class Meters : IMeterFactory
    {
        public Meter Create(MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
