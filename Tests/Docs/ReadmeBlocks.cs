using System.Text;
using System.Text.RegularExpressions;

namespace Ingest.Tests.Docs;

/// <summary>
/// A README's shell blocks and how the README test runs each, read from the HTML comment right above it:
/// <c>&lt;!-- test: name [server=URL] [stops=a,b] --&gt;</c> runs it (a server block is started in the
/// background and waited for until URL answers 200; <c>stops</c> first stops earlier servers, as Ctrl+C
/// would); <c>&lt;!-- not tested: reason --&gt;</c> skips it. Lines <c># → text</c> are the output the
/// README promises after the command above them (<c>…</c> stands for anything).
/// </summary>
public sealed record ReadmeBlock(string Name, int Line, IReadOnlyList<string> Code, string? Server, IReadOnlyList<string> Stops, string? NotTested)
{
    public const string ExpectedPrefix = "# → ";

    public IReadOnlyList<string> Expected =>
        [.. Code.Select(line => line.Trim()).Where(line => line.StartsWith(ExpectedPrefix, StringComparison.Ordinal)).Select(line => line[ExpectedPrefix.Length..])];

    /// <summary>A pattern for one promised output: literal text, <c>…</c> for anything within a line.</summary>
    public static Regex Pattern(string expected) =>
        new(string.Join(".*?", expected.Split('…').Select(Regex.Escape)), RegexOptions.CultureInvariant);

    public static List<ReadmeBlock> Parse(string markdown, out List<string> problems)
    {
        problems = [];
        var blocks = new List<ReadmeBlock>();
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        string? annotation = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].Trim();
            if (trimmed.StartsWith("<!--", StringComparison.Ordinal) && trimmed.EndsWith("-->", StringComparison.Ordinal))
            {
                annotation = trimmed[4..^3].Trim();
                continue;
            }

            if (!trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                if (trimmed.Length > 0)
                {
                    annotation = null; // an annotation belongs to the block right below it
                }

                continue;
            }

            var language = trimmed[3..].Trim();
            var indent = lines[i].Length - lines[i].TrimStart().Length;
            var code = new List<string>();
            var start = i + 1;
            for (i++; i < lines.Length && lines[i].Trim() != "```"; i++)
            {
                code.Add(lines[i].Length >= indent ? lines[i][indent..] : lines[i].TrimStart());
            }

            if (language != "sh")
            {
                annotation = null;
                continue;
            }

            if (annotation is null)
            {
                problems.Add($"README.md line {start}: a shell block without <!-- test: name --> or <!-- not tested: reason -->");
            }
            else if (annotation.StartsWith("not tested:", StringComparison.Ordinal))
            {
                blocks.Add(new ReadmeBlock($"line-{start}", start, code, null, [], annotation["not tested:".Length..].Trim()));
            }
            else if (annotation.StartsWith("test:", StringComparison.Ordinal))
            {
                var words = annotation["test:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var server = words.Skip(1).FirstOrDefault(w => w.StartsWith("server=", StringComparison.Ordinal))?["server=".Length..];
                var stops = words.Skip(1).FirstOrDefault(w => w.StartsWith("stops=", StringComparison.Ordinal))?["stops=".Length..].Split(',') ?? [];
                blocks.Add(new ReadmeBlock(words[0], start, code, server, stops, null));
            }
            else
            {
                problems.Add($"README.md line {start}: '{annotation}' is neither 'test: name' nor 'not tested: reason'");
            }

            annotation = null;
        }

        return blocks;
    }

    /// <summary>
    /// One bash script that runs the blocks in order in one shell, as a reader typing them in one terminal
    /// would (servers in the background, their output in <paramref name="logs"/>), announcing each block on
    /// stdout so the output can be split per block.
    /// </summary>
    public static string Script(IEnumerable<ReadmeBlock> blocks, string logs)
    {
        var script = new StringBuilder();
        script.AppendLine("set -e");
        script.AppendLine("""
            __ready() {
              local url=$1 pid=$2 log=$3 deadline=$((SECONDS + 600))
              until curl -sf -o /dev/null "$url"; do
                if ! kill -0 "$pid" 2>/dev/null; then echo "@@server-exited $log"; cat "$log"; exit 97; fi
                if [ "$SECONDS" -gt "$deadline" ]; then echo "@@server-not-ready $url"; cat "$log"; exit 98; fi
                sleep 0.5
              done
            }
            """);
        foreach (var block in blocks)
        {
            var id = Regex.Replace(block.Name, "[^A-Za-z0-9]", "_");
            foreach (var stop in block.Stops)
            {
                var stopped = Regex.Replace(stop, "[^A-Za-z0-9]", "_");
                script.AppendLine($"kill -TERM \"$__pid_{stopped}\"; wait \"$__pid_{stopped}\" || true");
            }

            script.AppendLine($"echo '@@block {block.Name}'");
            if (block.Server is { } url)
            {
                var command = string.Join(' ', block.Code.Where(line => line.Trim().Length > 0 && !line.TrimStart().StartsWith('#')));
                var log = $"{logs}/{block.Name}.log";
                script.AppendLine($"{command} > '{log}' 2>&1 &");
                script.AppendLine($"__pid_{id}=$!");
                script.AppendLine($"echo \"$__pid_{id}\" >> '{logs}/pids'");
                script.AppendLine($"__ready '{url}' \"$__pid_{id}\" '{log}'");
            }
            else
            {
                foreach (var line in block.Code)
                {
                    script.AppendLine(line);
                }
            }

            script.AppendLine("echo");
        }

        script.AppendLine("echo '@@end'");
        return script.ToString();
    }
}
