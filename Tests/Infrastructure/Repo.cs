namespace Ingest.Tests.Infrastructure;

/// <summary>Where the repository and the built hosts are, seen from the test assembly.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>Debug or Release: whatever the tests themselves were built as.</summary>
    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string HostDirectory(string project) => Path.Combine(Root, project, "bin", Configuration, "net10.0");

    public static string HostDll(string project) => Path.Combine(HostDirectory(project), $"Ingest.{project}.dll");

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Ingest.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Ingest.sln not found above " + AppContext.BaseDirectory);
    }
}
