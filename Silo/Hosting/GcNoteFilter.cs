using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ingest.Silo.Hosting;

/// <summary>
/// The silo runs the workstation (concurrent) GC by choice: 10,000 idle topics cost +23.4 KiB each with it
/// against +40.7 with the server GC (bench/README.md, "Garbage collector"; the server GC is ~12 % cheaper
/// per single-record request, <c>DOTNET_gcServer=1</c> chooses it). Orleans warns at every start that the server GC is off; that one note (event
/// SiloGcWarning of <c>Orleans.Runtime.Silo</c>, and only its GC lines) is dropped here, so a healthy start
/// logs no warning. Every other line of that category, and of every other, passes unchanged.
/// </summary>
internal static class GcNoteFilter
{
    private const string Category = "Orleans.Runtime.Silo";
    private const int SiloGcWarning = 100405;

    public static void DropOrleansServerGcNote(this IServiceCollection services)
    {
        var registered = services.LastOrDefault(s => s.ServiceType == typeof(ILoggerFactory) && !s.IsKeyedService);
        if (registered?.ImplementationType is not { } factoryType)
        {
            return;
        }

        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(sp =>
            new FilteringFactory((ILoggerFactory)ActivatorUtilities.CreateInstance(sp, factoryType))));
    }

    private sealed class FilteringFactory(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) =>
            categoryName == Category ? new FilteringLogger(inner.CreateLogger(categoryName)) : inner.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose() => inner.Dispose();
    }

    private sealed class FilteringLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == SiloGcWarning && logLevel == LogLevel.Warning && formatter(state, exception).Contains("ServerGC", StringComparison.Ordinal))
            {
                return;
            }

            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
