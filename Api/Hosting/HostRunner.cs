using System.Net.Sockets;
using System.Text.RegularExpressions;
using Ingest.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Ingest.Api.Hosting;

/// <summary>Why a host could not start, as one line for an operator, and the exit code it ends with.</summary>
public sealed record StartupError(string Message, int ExitCode);

/// <summary>
/// Builds and runs a host (the Silo or the Api) and turns the failures an operator causes — a mistyped
/// setting, a port or data directory another process holds — into one line on stderr and a documented
/// exit code (<see cref="ExitCodes"/>), instead of an unhandled exception with a stack trace. Anything
/// else is unexpected: it is printed whole and the process exits with <see cref="ExitCodes.Failed"/>.
/// </summary>
public static partial class HostRunner
{
    public static async Task<int> RunAsync(Func<WebApplication> build, TextWriter error, Func<Exception, StartupError?>? describe = null)
    {
        try
        {
            await using var app = build();
            await app.RunAsync();
            return ExitCodes.Stopped;
        }
        catch (Exception e)
        {
            if (Describe(e, describe) is { } known)
            {
                error.WriteLine(known.Message);
                return known.ExitCode;
            }

            error.WriteLine($"ingest: stopped by an unexpected error: {e}");
            return ExitCodes.Failed;
        }
    }

    /// <summary>
    /// Binds and validates every option class registered with <c>ValidateOnStart</c> now, before the host starts
    /// anything, so a bad setting stops the process before the first log line rather than halfway up.
    /// </summary>
    public static void ValidateSettings(this WebApplication app) =>
        app.Services.GetService<IStartupValidator>()?.Validate();

    /// <summary>The operator-caused cause of <paramref name="exception"/> (or of anything it wraps), or null.</summary>
    public static StartupError? Describe(Exception exception, Func<Exception, StartupError?>? describe = null)
    {
        var pending = new Queue<Exception>([exception]);
        var chain = new List<Exception>();
        while (pending.TryDequeue(out var e))
        {
            if ((describe?.Invoke(e) ?? DescribeOne(e)) is { } known)
            {
                return known;
            }

            chain.Add(e);
            if (e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                // Kestrel's or Orleans' listener: the outermost message that names the address says the most.
                var named = chain.FirstOrDefault(c => c.Message.Contains("bind", StringComparison.OrdinalIgnoreCase)) ?? e;
                return new($"a port this node needs is taken: {named.Message} Stop the other process or choose another port (README, Configuration).", ExitCodes.ResourceInUse);
            }

            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    pending.Enqueue(inner);
                }
            }
            else if (e.InnerException is { } inner)
            {
                pending.Enqueue(inner);
            }
        }

        return null;
    }

    private static StartupError? DescribeOne(Exception e) => e switch
    {
        OptionsValidationException invalid => new(string.Join(Environment.NewLine, invalid.Failures.Select(f => "invalid setting: " + f)), ExitCodes.Usage),
        InvalidSettingException setting => new("invalid setting: " + setting.Message, ExitCodes.Usage),
        InvalidOperationException binding when ConversionFailure().Match(binding.Message) is { Success: true } match =>
            new(DescribeConversion(match.Groups["path"].Value, match.Groups["value"].Value, match.Groups["type"].Value), ExitCodes.Usage),
        _ => null,
    };

    /// <summary>"Ingest:Durability='fsnyc' is not valid: use Flush or Fsync", from the configuration binder's failure.</summary>
    private static string DescribeConversion(string path, string value, string typeName)
    {
        var type = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(typeName)).FirstOrDefault(t => t is not null);
        type = type is null ? null : Nullable.GetUnderlyingType(type) ?? type;
        var allowed = type switch
        {
            null => $"a value of type {typeName}",
            { IsEnum: true } => "one of " + string.Join(", ", Enum.GetNames(type)),
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(TimeSpan) => "a duration such as 00:00:05 (hh:mm:ss) or 1.00:00:00 (one day)",
            _ when type == typeof(int) || type == typeof(long) => "a whole number",
            _ when type == typeof(double) => "a number",
            _ => $"a value of type {type.Name}",
        };
        return $"invalid setting: {path}='{value}' is not valid: use {allowed}.";
    }

    [GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<path>[^']*)' to type '(?<type>[^']*)'", RegexOptions.Singleline)]
    private static partial Regex ConversionFailure();
}
