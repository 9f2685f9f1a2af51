using System.Diagnostics;

namespace Ingest.Tests.Infrastructure;

/// <summary>
/// What a fresh clone of this checkout would hold — every file git tracks or would track (not ignored),
/// as it is in the working tree — copied to a temporary directory: no build output, no local data.
/// </summary>
public sealed class CleanCopy : IDisposable
{
    private readonly TempDirectory _directory;

    public CleanCopy(string prefix, Func<string, bool>? include = null)
    {
        _directory = new TempDirectory(prefix);
        foreach (var relative in TrackedFiles())
        {
            var source = System.IO.Path.Combine(Repo.Root, relative);
            if (!File.Exists(source) || (include is not null && !include(relative)))
            {
                continue; // deleted in the working tree, or filtered out
            }

            var target = System.IO.Path.Combine(_directory.Path, relative);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            File.Copy(source, target);
        }
    }

    public string Path => _directory.Path;

    public void Dispose() => _directory.Dispose();

    /// <summary>Paths relative to the repository root, '/'-separated.</summary>
    public static IReadOnlyList<string> TrackedFiles()
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = Repo.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "ls-files", "-z", "--cached", "--others", "--exclude-standard" })
        {
            start.ArgumentList.Add(argument);
        }

        using var git = System.Diagnostics.Process.Start(start)!;
        var output = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        Assert.True(git.ExitCode == 0, "git ls-files failed: " + git.StandardError.ReadToEnd());
        return output.Split('\0', StringSplitOptions.RemoveEmptyEntries).Distinct().ToList();
    }
}
