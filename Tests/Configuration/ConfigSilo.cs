using System.Collections.Concurrent;
using Ingest.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ingest.Tests.Configuration;

/// <summary>An in-process silo with an admin key, whose every log line (Ingest and ASP.NET Core down to Trace) is kept for inspection.</summary>
public class ConfigSilo : InProcessSilo
{
    public const string AdminKey = "test-admin-key-0123456789";

    private readonly CapturedLogs _logs = new();

    public IReadOnlyCollection<string> LogLines => _logs.Lines;

    internal AdminClient Admin => new(Http, AdminKey);

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Admin:Key", AdminKey),
        new("Logging:LogLevel:Ingest", "Trace"),
        new("Logging:LogLevel:Microsoft.AspNetCore", "Trace"),
        new("Logging:Console:LogLevel:Default", "Warning"),
        .. ExtraSettings,
    ];

    protected virtual IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [];

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<ILoggerProvider>(_logs);

    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines;

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                // The message and every structured value, so a secret cannot hide in a field the message omits.
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
                lines.Enqueue($"{category} {logLevel} {formatter(state, exception)} {values} {exception}");
            }
        }
    }
}
