using System.Text;
using Ingest.Segments;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Tests.Segments;

/// <summary>
/// Property test of recovery: thousands of segments damaged at random (truncated anywhere, one or several
/// bits flipped anywhere, garbage appended), each recovered. Recovery never throws; what remains reads
/// back with every CRC valid; every record that ended before the first damaged byte is still there, in
/// order, unchanged; and no byte is silently lost (what was cut is in a .corrupt file or was a torn tail).
/// </summary>
public sealed class RecoveryFuzzTests : IDisposable
{
    private const int Cases = 3000;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void recovery_of_randomly_damaged_segments_keeps_every_record_before_the_damage_and_returns_only_valid_records()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        var template = SegmentBuilder.Write(Path.Combine(_dir.Path, "template"), 40);
        var clean = File.ReadAllBytes(template);
        var offsets = SegmentBuilder.FrameOffsets(template);
        var values = ReadValues(template);
        var ends = offsets.Skip(1).Append(clean.LongLength).ToList(); // frame i spans [offsets[i], ends[i])

        for (var i = 0; i < Cases; i++)
        {
            var (damaged, firstDamage, what) = Damage(clean, random);
            var directory = Path.Combine(_dir.Path, $"case-{i}");
            Directory.CreateDirectory(directory);
            var path = Path.Combine(directory, SegmentFile.FileName(1, SegmentFile.ActiveExtension));
            File.WriteAllBytes(path, damaged);

            RecoveryReport report;
            try
            {
                report = SegmentRecovery.Recover(path, fsync: false, NullLogger.Instance, null);
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}, case {i} ({what}): recovery threw {e}");
                throw;
            }

            var survivors = File.Exists(path) ? ReadValues(path) : [];
            var intact = ends.Count(end => end <= firstDamage);
            Assert.True(survivors.Count >= intact, $"seed {seed}, case {i} ({what}): {intact} records ended before the damage at {firstDamage}, only {survivors.Count} survived");
            Assert.Equal(values.Take(intact), survivors.Take(intact));
            Assert.True(survivors.Count <= values.Count, $"seed {seed}, case {i} ({what}): recovery returned records that were never written");
            Assert.Equal(values.Take(survivors.Count), survivors); // anything kept past the damage is still a real record, in place

            Directory.Delete(directory, recursive: true);
        }

        TestContext.Current.SendDiagnosticMessage($"{Cases} damaged segments recovered (seed {seed})");
    }

    /// <summary>A copy of <paramref name="clean"/> truncated, bit-flipped or extended with garbage, and the offset of the first byte that differs.</summary>
    private static (byte[] Damaged, long FirstDamage, string What) Damage(byte[] clean, Random random)
    {
        switch (random.Next(4))
        {
            case 0:
            {
                var length = random.Next(clean.Length);
                return (clean[..length], length, $"truncated to {length}");
            }

            case 1:
            {
                var copy = (byte[])clean.Clone();
                var bit = random.NextInt64(SegmentFile.HeaderSize * 8L, copy.Length * 8L);
                copy[bit / 8] ^= (byte)(1 << (int)(bit % 8));
                return (copy, bit / 8, $"bit {bit % 8} of byte {bit / 8} flipped");
            }

            case 2:
            {
                var copy = (byte[])clean.Clone();
                var flips = random.Next(2, 20);
                long first = long.MaxValue;
                for (var f = 0; f < flips; f++)
                {
                    var at = random.Next(SegmentFile.HeaderSize, copy.Length);
                    copy[at] ^= (byte)random.Next(1, 256);
                    first = Math.Min(first, at);
                }

                return (copy, first, $"{flips} bytes changed from {first}");
            }

            default:
            {
                var garbage = new byte[random.Next(1, 300)];
                random.NextBytes(garbage);
                return ([.. clean, .. garbage], clean.Length, $"{garbage.Length} garbage bytes appended");
            }
        }
    }

    private static List<string> ReadValues(string path)
    {
        var values = new List<string>();
        SegmentReader.Scan(path, (in Ingest.Records.RecordView record, long _) => values.Add(Encoding.UTF8.GetString(record.Value)));
        return values;
    }
}
