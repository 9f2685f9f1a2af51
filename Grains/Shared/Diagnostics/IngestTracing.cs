using System.Diagnostics;

namespace Ingest.Diagnostics;

/// <summary>
/// Ingest's spans, one <see cref="ActivitySource"/> for every host: <c>ingest.append</c> (a frontend's coalesced
/// grain call, linked to each request it carries), <c>ingest.commit</c> (a topic grain's group commit: write,
/// fsync, linked to the calls it wrote) and <c>ingest.deliver</c> (Kafka's acknowledgement of shipped records,
/// linked to the requests that brought them). Nothing is created unless a tracer listens (tracing is on only with
/// an OTLP endpoint), so a request costs a check of <see cref="ActivitySource.HasListeners"/> when it is off.
/// </summary>
public static class IngestTracing
{
    public const string SourceName = "Ingest";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>True when some tracer listens to Ingest's spans.</summary>
    public static bool On => Source.HasListeners();

    /// <summary>The W3C <c>traceparent</c> of a span that is recorded; null otherwise (an unsampled span is not worth a header).</summary>
    public static string? TraceParentOf(Activity? span) =>
        span is { Recorded: true, IdFormat: ActivityIdFormat.W3C } ? span.Id : null;

    /// <summary>
    /// The current request's span when it is this node's own and recorded (tracing on, request sampled), else null;
    /// not ASP.NET Core's activity, which exists without a tracer (for log scopes) and carries the caller's flags.
    /// </summary>
    public static Activity? RecordedRequestSpan =>
        On && Activity.Current is { Recorded: true } span && span.Source == Source ? span : null;

    /// <summary>A valid <c>traceparent</c> (<see cref="IsTraceParent"/>) as a context.</summary>
    public static bool TryParse(string? traceParent, out ActivityContext context)
    {
        context = default;
        return IsTraceParent(traceParent) && ActivityContext.TryParse(traceParent, null, isRemote: true, out context);
    }

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    /// <summary>The shape W3C Trace Context gives version 00: <c>00-{32 hex}-{16 hex}-{2 hex}</c>, lower case, ids not all zero.</summary>
    public static bool IsTraceParent(ReadOnlySpan<char> value) =>
        value.Length == 55 && value.StartsWith("00-") && value[35] == '-' && value[52] == '-'
        && !value[3..35].ContainsAnyExcept(LowerHex) && !value[36..52].ContainsAnyExcept(LowerHex) && !value[53..55].ContainsAnyExcept(LowerHex)
        && value[3..35].ContainsAnyExcept('0') && value[36..52].ContainsAnyExcept('0');

    /// <summary>
    /// A span of its own, linked to each of <paramref name="links"/>: it has no parent (one span serves many traces),
    /// not even the ambient <see cref="Activity.Current"/> (the first request's span, which the call happens to run
    /// under), and it does not become the current span.
    /// </summary>
    public static Activity? StartLinked(string name, ActivityKind kind, IEnumerable<ActivityLink> links, DateTimeOffset startTime = default)
    {
        var ambient = Activity.Current;
        Activity.Current = null;
        try
        {
            return Source.StartActivity(name, kind, parentContext: default, tags: null, links, startTime);
        }
        finally
        {
            Activity.Current = ambient;
        }
    }

    /// <summary>Span attribute names, as operators search for them.</summary>
    public static class Tags
    {
        public const string Topic = "ingest.topic";
        public const string Records = "ingest.records";
        public const string Bytes = "ingest.bytes";
        public const string Requests = "ingest.requests";
        public const string Durability = "ingest.durability";
        public const string Segment = "ingest.segment";
        public const string Outcome = "ingest.outcome";
        public const string KafkaTopic = "messaging.destination.name";
        public const string Partition = "messaging.destination.partition.id";
        public const string FirstOffset = "ingest.kafka.first_offset";
        public const string LastOffset = "ingest.kafka.last_offset";
        public const string MessagingSystem = "messaging.system";
    }
}
