using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Ingest.Silo.Commands;

/// <summary>
/// <c>audit verify --topic T [--from F] [--to T] [--url U]</c>: asks a silo (<c>--url</c>, default
/// <c>http://127.0.0.1:8080</c>; its admin key from <c>INGEST_ADMIN_KEY</c>) to set the topic's audit beside
/// what Kafka holds (<c>GET /v1/admin/audit/{topic}/verify</c>) and prints one line per UTC hour — accepted,
/// stored, acknowledged, pending, found in Kafka, missing, extra copies — then one line a script can test:
/// <c>missing N</c>. Exit code 0 when nothing is missing, 3 when records are, 2 for a usage error, 1 when
/// the silo or Kafka could not be asked.
/// </summary>
internal static class AuditCommand
{
    private const string Usage = "usage: audit verify --topic <topic> [--from <time or date>] [--to <time or date>] [--url <silo url>]";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args.FirstOrDefault() != "verify" || !TryOptions(args[1..], out var options) || !options.TryGetValue("topic", out var topic))
        {
            error.WriteLine(Usage);
            return ExitCodes.Usage;
        }

        var url = options.GetValueOrDefault("url", "http://127.0.0.1:8080").TrimEnd('/');
        var query = string.Join("&", new[] { "from", "to" }.Where(options.ContainsKey).Select(k => $"{k}={Uri.EscapeDataString(options[k])}"));
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        if (Environment.GetEnvironmentVariable("INGEST_ADMIN_KEY") is { Length: > 0 } key)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync($"{url}/v1/admin/audit/{Uri.EscapeDataString(topic)}/verify{(query.Length > 0 ? "?" + query : string.Empty)}");
        }
        catch (HttpRequestException e)
        {
            error.WriteLine($"audit: {url} could not be asked: {e.Message}");
            return ExitCodes.Failed;
        }

        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            error.WriteLine($"audit: {url} answered {(int)response.StatusCode}: {body}");
            return (int)response.StatusCode is 400 ? ExitCodes.Usage : ExitCodes.Failed;
        }

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        output.WriteLine($"topic {root.GetProperty("topic").GetString()} (Kafka topic {root.GetProperty("kafkaTopic").GetString()}), {root.GetProperty("from").GetDateTimeOffset():u} to {root.GetProperty("to").GetDateTimeOffset():u}, {root.GetProperty("messagesRead").GetInt64()} messages read");
        output.WriteLine($"{"hour (UTC)",-17} {"accepted",10} {"stored",10} {"acked",10} {"pending",10} {"found",10} {"missing",10} {"extra",10}");
        foreach (var hour in root.GetProperty("hours").EnumerateArray())
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{hour.GetProperty("hour").GetDateTimeOffset():yyyy-MM-dd HH:mm} {N(hour, "accepted"),10} {N(hour, "stored"),10} {N(hour, "acked"),10} {N(hour, "pending"),10} {N(hour, "found"),10} {N(hour, "missing"),10} {N(hour, "extraCopies"),10}"));
        }

        var missing = root.GetProperty("missing").GetInt64();
        output.WriteLine($"extra copies {root.GetProperty("extraCopies").GetInt64()}, pending {root.GetProperty("pending").GetInt64()}");
        output.WriteLine($"missing {missing}");
        return missing == 0 ? 0 : 3;
    }

    private static long N(JsonElement hour, string name) => hour.GetProperty(name).GetInt64();

    private static bool TryOptions(string[] args, out Dictionary<string, string> options)
    {
        options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length
                || args[i][2..] is not ("topic" or "from" or "to" or "url") || !options.TryAdd(args[i][2..], args[i + 1]))
            {
                return false;
            }
        }

        return true;
    }
}
