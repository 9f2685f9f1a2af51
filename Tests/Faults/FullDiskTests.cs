using System.Net;
using Ingest.Options;
using Ingest.Storage;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Faults;

/// <summary>
/// A real full disk: the silo's data directory is on a 4 MiB tmpfs the test mounts (this machine allows
/// mounting; CI machines are of the same kind), and the test fills it with a file of its own, so
/// write(2) itself answers ENOSPC — no fault injection.
/// </summary>
public sealed class TmpfsSilo : InProcessSilo
{
    public TmpfsSilo(string mountPoint) => MountPoint = mountPoint;

    public string MountPoint { get; }

    public string Data => Path.Combine(MountPoint, "data");

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Ingest:DataDirectory", Data),
        new("Ingest:MinFreeDiskBytes", "0"), // let the file system, not the budget, say "full"
    ];

    /// <summary>
    /// The budget samples free space once at start and then by its own clock, held still here: it keeps
    /// believing there is room, so the refusal the test sees is write(2)'s ENOSPC however slow the machine.
    /// </summary>
    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton(sp => new DiskBudget(sp.GetRequiredService<IOptions<IngestOptions>>(), new FakeTimeProvider()));
}

public sealed class FullDiskTests : IAsyncLifetime
{
    private readonly TempDirectory _mountPoint = new("ingest-tmpfs");
    private TmpfsSilo _silo = null!;
    private bool _mounted;

    public async ValueTask InitializeAsync()
    {
        var mount = await Run("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", _mountPoint.Path);
        Assert.True(mount.ExitCode == 0, $"mounting a 4 MiB tmpfs for a real ENOSPC failed (this test needs root, as on the CI machines): {mount.Output}");
        _mounted = true;
        _silo = new TmpfsSilo(_mountPoint.Path);
        await _silo.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _silo.DisposeAsync();
        if (_mounted)
        {
            await Run("umount", "-l", _mountPoint.Path);
        }

        _mountPoint.Dispose();
    }

    [Fact]
    public async Task on_a_full_disk_appends_get_503_with_retry_after_the_node_stays_up_no_torn_record_remains_and_writes_resume_once_space_frees()
    {
        const string topic = "full-disk";
        var accepted = new List<string>();
        async Task<HttpResponseMessage> Post(int i)
        {
            var body = $$"""{"i":{{i}},"pad":"{{new string('d', 3000)}}"}""";
            var response = await _silo.Http.PostAsync($"/v1/topics/{topic}", new StringContent(body));
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted.Add(body);
            }

            return response;
        }

        Assert.Equal(HttpStatusCode.Accepted, (await Post(0)).StatusCode); // also samples the free space: plenty
        var filler = Path.Combine(_silo.MountPoint, "filler");
        FillUp(filler);

        // The budget still believes there is room (its clock stands still), so the write itself meets the full disk.
        HttpResponseMessage? refused = null;
        for (var i = 1; i < 50 && refused is null; i++)
        {
            var response = await Post(i);
            refused = response.StatusCode == HttpStatusCode.Accepted ? null : response;
        }

        Assert.NotNull(refused);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
        var detail = await refused.Content.ReadAsStringAsync();
        Assert.Contains("Write failed", detail);
        Assert.Contains("No space left on device", detail);
        Assert.Equal(HttpStatusCode.OK, (await _silo.Http.GetAsync("/healthz")).StatusCode);

        // The failed write was cut back: the segments hold every 202 and nothing else, CRCs checked.
        Assert.Equal(accepted, StoredRecords.Read(_silo.Data, topic).Select(r => r.ValueText));
        var (ready, _) = await Readiness();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready); // a full disk is a reason to be unready

        File.Delete(filler);
        await Poll.Until(async () => (await Post(1000)).StatusCode == HttpStatusCode.Accepted, TimeSpan.FromSeconds(10), "appends to succeed again once space is free");
        Assert.Equal(HttpStatusCode.OK, (await Readiness()).Status);

        // Recovery at the next start finds only whole records: nothing cut, nothing quarantined.
        await _silo.RestartAsync();
        Assert.Equal(accepted, StoredRecords.Read(_silo.Data, topic).Select(r => r.ValueText));
        Assert.Empty(Directory.GetFiles(Path.Combine(_silo.Data, "segments", topic), "*.corrupt-*"));
    }

    private async Task<(HttpStatusCode Status, string Body)> Readiness()
    {
        using var response = await _silo.Http.GetAsync("/readyz");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Writes zeros until the file system refuses (ENOSPC), halving the chunk down to single bytes.</summary>
    private static void FillUp(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        var chunk = new byte[64 * 1024];
        long offset = 0;
        for (var size = chunk.Length; size >= 1; size /= 2)
        {
            try
            {
                while (true)
                {
                    RandomAccess.Write(handle, chunk.AsSpan(0, size), offset);
                    offset += size;
                }
            }
            catch (IOException)
            {
                // No room for this size: try smaller.
            }
        }
    }

    private static async Task<(int ExitCode, string Output)> Run(string command, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
