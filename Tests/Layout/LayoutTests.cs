using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Layout;

/// <summary>The layout the README describes, checked against the code so that it stays true.</summary>
public sealed partial class LayoutTests
{
    [Fact]
    public void grains_interfaces_holds_only_grain_interfaces_and_the_wire_types_they_carry()
    {
        var assembly = typeof(Ingest.Topics.ITopicGrain).Assembly;
        var runtime = OwnTypes(assembly)
            .Where(type => !(type.IsInterface || type.GetCustomAttributes().Any(a => a.GetType().Name == "GenerateSerializerAttribute")))
            .Select(type => type.FullName)
            .ToList();

        Assert.True(runtime.Count == 0, $"runtime types in {assembly.GetName().Name}: {string.Join(", ", runtime)}");
        Assert.Contains(OwnTypes(assembly), type => type.Name == "ClusterConfig");
    }

    [Fact]
    public void no_development_broker_type_is_in_a_production_assembly()
    {
        var devBroker = typeof(Ingest.DevBroker.MockKafkaCluster).Assembly;
        foreach (var production in new[] { typeof(Ingest.Topics.TopicGrain).Assembly, typeof(Ingest.Topics.ITopicGrain).Assembly, typeof(Ingest.Records.RecordFrame).Assembly, typeof(Ingest.Api.Hosting.IngestApiExtensions).Assembly })
        {
            Assert.DoesNotContain(production.GetReferencedAssemblies(), name => name.Name == devBroker.GetName().Name);
            Assert.DoesNotContain(OwnTypes(production), type => type.Namespace?.StartsWith("Ingest.DevBroker", StringComparison.Ordinal) == true);
        }
    }

    [Fact]
    public void every_log_event_id_is_a_distinct_member_of_IngestEventCode()
    {
        var literals = SourceFiles()
            .SelectMany(file => LiteralEventId().Matches(File.ReadAllText(file)).Select(match => $"{Path.GetRelativePath(Repo.Root, file)}: {match.Value}"))
            .ToList();
        Assert.True(literals.Count == 0, "event ids not taken from IngestEventCode:\n" + string.Join("\n", literals));

        var values = Enum.GetValues<IngestEventCode>().Select(code => (int)code).ToList();
        Assert.Equal(values.Count, values.Distinct().Count());
    }

    [Fact]
    public void no_two_folders_of_one_project_use_each_others_types()
    {
        var cycles = new List<string>();
        foreach (var project in new[] { "Api", "Grains", "Grains/Shared", "Silo" })
        {
            var root = Path.Combine(Repo.Root, project);
            var files = SourceFiles(project)
                .Select(file => (Folder: FolderOf(root, file), Code: Comment().Replace(File.ReadAllText(file), "")))
                .Where(file => file.Folder is not null)
                .ToList();
            var owners = files
                .SelectMany(file => TypeDeclaration().Matches(file.Code).Select(match => (Type: match.Groups["name"].Value, file.Folder)))
                .GroupBy(declared => declared.Type)
                .Where(group => group.Select(declared => declared.Folder).Distinct().Count() == 1)
                .ToDictionary(group => group.Key, group => group.First().Folder!);
            var uses = new HashSet<(string From, string To)>();
            foreach (var (folder, code) in files)
            {
                foreach (Match word in Identifier().Matches(code))
                {
                    if (owners.TryGetValue(word.Value, out var owner) && owner != folder)
                    {
                        uses.Add((folder!, owner));
                    }
                }
            }

            cycles.AddRange(uses.Where(use => string.CompareOrdinal(use.From, use.To) < 0 && uses.Contains((use.To, use.From))).Select(use => $"{project}: {use.From} <-> {use.To}"));
        }

        Assert.True(cycles.Count == 0, "folders that use each other:\n" + string.Join("\n", cycles));
    }

    [Theory]
    [InlineData("README.md", "Where things happen:")]
    [InlineData("Grains/Segments/README.md", "")]
    public void every_file_a_readme_names_for_a_step_exists(string readme, string section)
    {
        var text = File.ReadAllText(Path.Combine(Repo.Root, readme));
        var start = text.IndexOf(section, StringComparison.Ordinal);
        Assert.True(start >= 0, $"{readme} has a \"{section}\" paragraph");
        var end = section.Length == 0 ? text.Length : text.IndexOf("\n\n", start, StringComparison.Ordinal);
        var named = CodePath().Matches(text[start..end]).Select(match => match.Groups["path"].Value).ToList();

        Assert.True(named.Count >= 8, $"{readme} names the files of each step (found {named.Count})");
        // A bare file name (KafkaSender.cs) is in the folder of the path named before it.
        var folder = "";
        var missing = new List<string>();
        foreach (var path in named)
        {
            var full = path.Contains('/') ? path : Path.Combine(folder, path);
            folder = Path.GetDirectoryName(full)!;
            if (!File.Exists(Path.Combine(Repo.Root, full)))
            {
                missing.Add(full);
            }
        }

        Assert.True(missing.Count == 0, $"named in {readme} but not in the repository: " + string.Join(", ", missing));
    }

    private static IEnumerable<Type> OwnTypes(Assembly assembly) =>
        assembly.GetTypes().Where(type =>
            type.Namespace?.StartsWith("Ingest", StringComparison.Ordinal) == true
            && !type.IsDefined(typeof(CompilerGeneratedAttribute))
            && !type.IsNested);

    private static IEnumerable<string> SourceFiles(params string[] projects) =>
        (projects.Length == 0 ? ["Api", "Grains", "Grains.Interfaces", "Silo"] : projects)
            .SelectMany(project => Directory.EnumerateFiles(Path.Combine(Repo.Root, project), "*.cs", SearchOption.AllDirectories))
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Distinct();

    /// <summary>The first folder below the project's, or null for a file at its root (or in a nested project).</summary>
    private static string? FolderOf(string root, string file)
    {
        var parts = Path.GetRelativePath(root, file).Split(Path.DirectorySeparatorChar);
        var nestedProject = parts.Length > 1 && Directory.EnumerateFiles(Path.Combine(root, parts[0]), "*.csproj").Any();
        return parts.Length == 1 || nestedProject ? null : parts[0];
    }

    [GeneratedRegex(@"EventId\s*=\s*\d")]
    private static partial Regex LiteralEventId();

    [GeneratedRegex(@"//.*")]
    private static partial Regex Comment();

    [GeneratedRegex(@"^[ \t]*(?:(?:public|internal|private|protected|sealed|static|readonly|partial|abstract|file|ref)\s+)*(?:class|record(?:\s+struct|\s+class)?|struct|interface|enum)\s+(?<name>\w+)", RegexOptions.Multiline)]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"\b[A-Z]\w*\b")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"`(?<path>[\w./]+\.cs)`")]
    private static partial Regex CodePath();
}
