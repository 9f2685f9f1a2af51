using System.Diagnostics;

namespace Ingest.Tests.Partitions;

/// <summary>What happened when in a fault test: each line timed from the start, shown live and attached to the result.</summary>
internal sealed class Timeline
{
    private readonly List<string> _lines = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public void Note(string line)
    {
        lock (_lines)
        {
            _lines.Add($"{_clock.Elapsed:mm\\:ss\\.f} {line}");
            TestContext.Current.SendDiagnosticMessage(_lines[^1]);
        }
    }

    public void Attach()
    {
        lock (_lines)
        {
            TestContext.Current.AddAttachment("timeline", string.Join('\n', _lines));
        }
    }
}
