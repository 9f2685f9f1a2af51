using System.Text.Json;
using System.Text.RegularExpressions;

namespace Ingest.Tests.Deploy;

/// <summary>One instruction of a Dockerfile (continuation lines joined), in its stage.</summary>
public sealed record DockerInstruction(string Stage, string Keyword, string Arguments);

/// <summary>
/// The parts of a Dockerfile that say how an image is built and started, read from the file itself:
/// stages, <c>WORKDIR</c>, <c>RUN</c>, <c>COPY --from</c>, <c>ENV</c>, <c>ENTRYPOINT</c>.
/// </summary>
public sealed partial class Dockerfile
{
    private Dockerfile(IReadOnlyList<DockerInstruction> instructions) => Instructions = instructions;

    public IReadOnlyList<DockerInstruction> Instructions { get; }

    public string FinalStage => Instructions[^1].Stage;

    public static Dockerfile Load(string path)
    {
        var instructions = new List<DockerInstruction>();
        var stage = "";
        var stages = 0;
        var pending = "";
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.TrimEnd();
            if (pending.Length == 0 && (line.TrimStart().StartsWith('#') || line.Trim().Length == 0))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            var text = (pending + line).Trim();
            pending = "";
            var space = text.IndexOf(' ');
            var keyword = text[..space].ToUpperInvariant();
            var arguments = text[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                var alias = Regex.Match(arguments, @"\s+AS\s+(\S+)$", RegexOptions.IgnoreCase);
                stage = alias.Success ? alias.Groups[1].Value : $"stage{stages}";
                stages++;
            }

            instructions.Add(new DockerInstruction(stage, keyword, arguments));
        }

        return new Dockerfile(instructions);
    }

    public IEnumerable<string> All(string keyword, string stage) =>
        Instructions.Where(i => i.Stage == stage && i.Keyword == keyword).Select(i => i.Arguments);

    public string WorkDir(string stage) => All("WORKDIR", stage).Last();

    /// <summary>The build commands (<c>RUN</c>) of a stage.</summary>
    public IReadOnlyList<string> Runs(string stage) => [.. All("RUN", stage)];

    /// <summary><c>COPY --from=stage source target</c> of the final stage: where the image's files come from.</summary>
    public (string Stage, string Source, string Target) CopyFrom()
    {
        var copy = All("COPY", FinalStage).Select(a => CopyFromPattern().Match(a)).Single(m => m.Success);
        return (copy.Groups["stage"].Value, copy.Groups["source"].Value, copy.Groups["target"].Value);
    }

    /// <summary>The final stage's environment, from every <c>ENV k=v ...</c> (or <c>ENV k v</c>).</summary>
    public Dictionary<string, string> Environment()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var arguments in All("ENV", FinalStage))
        {
            if (!arguments.Contains('='))
            {
                var space = arguments.IndexOf(' ');
                environment[arguments[..space]] = arguments[(space + 1)..].Trim();
                continue;
            }

            foreach (Match pair in EnvPair().Matches(arguments))
            {
                environment[pair.Groups["key"].Value] = pair.Groups["value"].Value.Trim('"');
            }
        }

        return environment;
    }

    /// <summary>The final stage's <c>ENTRYPOINT</c> in exec form.</summary>
    public string[] Entrypoint() => JsonSerializer.Deserialize<string[]>(All("ENTRYPOINT", FinalStage).Single())!;

    [GeneratedRegex(@"^--from=(?<stage>\S+)\s+(?<source>\S+)\s+(?<target>\S+)$")]
    private static partial Regex CopyFromPattern();

    [GeneratedRegex(@"(?<key>[A-Za-z_][A-Za-z0-9_]*)=(?<value>""[^""]*""|\S*)")]
    private static partial Regex EnvPair();
}

/// <summary>
/// What <c>docker build</c> sends as its context: every file below the directory except what
/// <c>.dockerignore</c> excludes (patterns as Docker reads them: <c>*</c> within a name, <c>**</c> across
/// directories, a matched directory excludes everything in it, <c>!</c> re-includes, the last match wins).
/// </summary>
public sealed class DockerIgnore
{
    private readonly List<(Regex Pattern, bool Exclude)> _rules = [];

    public DockerIgnore(string file)
    {
        foreach (var raw in File.Exists(file) ? File.ReadLines(file) : [])
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var exclude = !line.StartsWith('!');
            var pattern = line.TrimStart('!').Trim('/');
            var regex = "^" + Regex.Escape(pattern).Replace(@"\*\*/", "(.*/)?").Replace(@"\*\*", ".*").Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]") + "$";
            _rules.Add((new Regex(regex), exclude));
        }
    }

    /// <summary>Whether a path relative to the context ('/'-separated) is left out, itself or through a parent directory.</summary>
    public bool Excludes(string relative)
    {
        var parts = relative.Split('/');
        for (var depth = 1; depth <= parts.Length; depth++)
        {
            var prefix = string.Join('/', parts.Take(depth));
            bool? excluded = null;
            foreach (var (pattern, exclude) in _rules)
            {
                if (pattern.IsMatch(prefix))
                {
                    excluded = exclude;
                }
            }

            if (excluded == true)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Copies the build context of <paramref name="root"/> into <paramref name="target"/>; returns the files copied.</summary>
    public int CopyContext(string root, string target)
    {
        var copied = 0;
        var pending = new Stack<string>([root]);
        while (pending.TryPop(out var directory))
        {
            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos())
            {
                var relative = Path.GetRelativePath(root, entry.FullName).Replace('\\', '/');
                if (Excludes(relative) || entry.LinkTarget is not null)
                {
                    continue;
                }

                if (entry is DirectoryInfo)
                {
                    pending.Push(entry.FullName);
                    continue;
                }

                var destination = Path.Combine(target, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                File.Copy(entry.FullName, destination);
                copied++;
            }
        }

        return copied;
    }
}
