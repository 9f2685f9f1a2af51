using System.Diagnostics;

namespace Ingest.Tests.Infrastructure;

/// <summary>Debian's kcat, a Kafka client independent of this project. A missing kcat fails the test.</summary>
public static class Kcat
{
    /// <summary>Reads a topic from the beginning to its current end; one line per message: "key\tvalue".</summary>
    public static Task<List<string>> ConsumeAsync(string bootstrap, string topic) => ConsumeAsync(bootstrap, topic, "%k\t%s\n");

    /// <summary>The value of the message at <paramref name="offset"/> of <paramref name="partition"/>, or null if there is none.</summary>
    public static async Task<string?> ReadAtAsync(string bootstrap, string topic, int partition, long offset)
    {
        var start = new ProcessStartInfo("kcat") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-b", bootstrap, "-C", "-t", topic, "-p", partition.ToString(), "-o", offset.ToString(), "-c", "1", "-e", "-q", "-f", "%s" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var output = await process.StandardOutput.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return output.Length == 0 ? null : output;
    }

    /// <summary>Like <see cref="ConsumeAsync(string, string)"/>, one line per message in kcat's <paramref name="format"/> (<c>%h</c>: the headers, <c>name=value,…</c>).</summary>
    public static async Task<List<string>> ConsumeAsync(string bootstrap, string topic, string format)
    {
        var start = new ProcessStartInfo("kcat") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", format })
        {
            start.ArgumentList.Add(argument);
        }

        System.Diagnostics.Process process;
        try
        {
            process = System.Diagnostics.Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("kcat is not installed (./test.sh installs it with apt-get)", e);
        }

        using (process)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var output = await process.StandardOutput.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        }
    }
}
