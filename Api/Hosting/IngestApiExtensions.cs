using Ingest.Api.Appending;
using Ingest.Configuration;
using Ingest.Api.Http;
using Ingest.Api.Options;
using Ingest.Api.Tracing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Ingest.Api.Hosting;

public static class IngestApiExtensions
{
    /// <summary>
    /// Adds the HTTP ingest API: options (section <c>Ingest</c>), the per-topic appender, ProblemDetails
    /// and Kestrel limits. Listens on <paramref name="defaultUrl"/> unless URLs are configured the usual
    /// ASP.NET Core way (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>Kestrel:Endpoints</c>).
    /// </summary>
    /// <param name="serviceName">What this node is called in traces (<c>OTEL_SERVICE_NAME</c> overrides it).</param>
    public static WebApplicationBuilder AddIngestApi(this WebApplicationBuilder builder, string defaultUrl, string serviceName)
    {
        var services = builder.Services;
        services.AddIngestTracing(Tracing.TracingSettings.From(builder.Configuration), serviceName);
        services.AddOptions<IngestApiOptions>().BindConfiguration(IngestApiOptions.SectionName).ValidateOnStart();
        services.AddOptions<ClusterSettings>().BindConfiguration(ClusterSettings.SectionName);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IngestApiOptions>, IngestApiOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddConfigSubscriber();
        services.AddMetrics();
        services.AddSingleton<Diagnostics.ApiInstruments>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(Diagnostics.ApiInstruments.MeterName, "Ingest")
            .OnlyOwnMeters()
            .AddPrometheusExporter());
        services.AddSingleton<Access.AccessControl>();
        services.AddSingleton<TopicAppender>();
        services.AddSingleton<RequestGate>();
        services.AddSingleton<BrowserRequests>();
        services.AddSingleton<RequestAdmission>();
        services.AddSingleton<IngestAnswers>();
        services.AddSingleton<IngestHandler>();
        services.AddSingleton<Health.HealthEndpoints>();
        services.AddSingleton<Admin.ReplayEndpoints>();
        services.AddSingleton<Admin.AuditEndpoints>();
        services.AddSingleton<Admin.NodeEndpoints>();
        services.AddSingleton<Admin.ConfigEndpoints>();
        services.AddSingleton<Status.StatusEndpoints>();
        services.AddOptions<Admin.AdminOptions>().BindConfiguration(Admin.AdminOptions.SectionName);
        services.AddSingleton<Admin.AdminAuthorization>();
        services.AddProblemDetails();
        services.AddOpenApi(options => options.AddDescribedParameters());

        var limits = new IngestApiOptions();
        builder.Configuration.GetSection(IngestApiOptions.SectionName).Bind(limits);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxRequestHeaderCount = 100;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        });

        if (!HasConfiguredUrls(builder.Configuration))
        {
            builder.WebHost.UseUrls(defaultUrl);
        }

        return builder;
    }

    /// <summary>Maps <c>/v1/topics/...</c>, <c>/healthz</c> and <c>/readyz</c>; errors answer problem+json.</summary>
    public static WebApplication MapIngestApi(this WebApplication app)
    {
        // Problem bodies for 404/405 and other empty error answers. The ingest POST handlers always
        // write their own body, so the hot path skips this middleware (it showed in the profile).
        if (app.Services.GetRequiredService<TracingSettings>() is { Enabled: true } tracing)
        {
            app.UseRequestSpans(tracing.SampleRatio);
        }

        app.UseWhen(context => !IsIngestPost(context.Request), branch => branch.UseStatusCodePages());
        var handler = app.Services.GetRequiredService<IngestHandler>();
        MapIngestEndpoints(app, handler);
        return app;
    }

    private static void MapIngestEndpoints(IEndpointRouteBuilder endpoints, IngestHandler handler)
    {
        // Every endpoint says what it takes and answers (ApiDescription): that is the OpenAPI document.
        const string json = "application/json", ndjson = "application/x-ndjson", text = "text/plain";
        DescribedParameter[] ingest =
        [
            ApiDescription.Query("durability", "flush, fsync or kafka: how safe the records must be before the answer (default: the node's Ingest:Durability)"),
            ApiDescription.Header("Idempotency-Key", "1-255 printable ASCII characters: a repeat within Ingest:IdempotencyWindow stores nothing and gets the first answer"),
            ApiDescription.Query("idempotencyKey", "the idempotency key, for senders that cannot set headers (navigator.sendBeacon)"),
            ApiDescription.Header("Authorization", "Bearer <producer key>, when keys are on (or X-Api-Key)"),
            ApiDescription.Query("apiKey", "a browser key (one with origins), for senders that cannot set headers"),
            ApiDescription.Header("traceparent", "W3C trace context: the request continues the caller's trace, and its records carry it to Kafka as the traceparent header"),
        ];
        int[] ingestErrors = [400, 401, 403, 413, 415, 429, 503];
        var topics = endpoints.MapGroup("/v1/topics");
        // The two hot endpoints stay plain RequestDelegates: nothing between Kestrel's routing and the handler.
        topics.MapPost("/{topic}", (RequestDelegate)handler.AppendOne).Described(handler.AppendOne)
            .Describe("appendRecord", "ingest", "Store one record: the body, byte for byte")
            .Body(json: false, "the record, kept byte for byte (any content type; Content-Encoding: gzip is inflated)", "*/*")
            .Parameters([.. ingest, ApiDescription.Query("key", "the record's Kafka key")])
            .Answers(StatusCodes.Status202Accepted, typeof(AcceptedAnswer)).Answers(StatusCodes.Status201Created, typeof(AcceptedAnswer))
            .Problems(ingestErrors);
        topics.MapPost("/{topic}/batch", (RequestDelegate)handler.AppendBatch).Described(handler.AppendBatch)
            .Describe("appendBatch", "ingest", "Store a batch: NDJSON (or text/plain) lines, or a JSON array; all or nothing")
            .Body(json: false, "NDJSON or text/plain: one record per non-empty line; application/json: an array, each element a record", ndjson, text, json)
            .Parameters([.. ingest, ApiDescription.Query("key", "the Kafka key of every record of the batch")])
            .Answers(StatusCodes.Status202Accepted, typeof(AcceptedAnswer)).Answers(StatusCodes.Status201Created, typeof(AcceptedAnswer))
            .Problems(ingestErrors);
        var browsers = endpoints.ServiceProvider.GetRequiredService<BrowserRequests>();
        foreach (var (pattern, name) in new[] { ("/{topic}", "preflightRecord"), ("/{topic}/batch", "preflightBatch") })
        {
            topics.MapMethods(pattern, [HttpMethods.Options], Wrap(browsers.Preflight))
                .Describe(name, "ingest", "CORS preflight from a web page")
                .Parameters(ApiDescription.Header("Origin", "the page's origin"))
                .Produces(StatusCodes.Status204NoContent).Problems(403);
        }

        var admin = endpoints.ServiceProvider.GetRequiredService<Admin.AdminAuthorization>();
        var replay = endpoints.ServiceProvider.GetRequiredService<Admin.ReplayEndpoints>();
        Guarded(endpoints.MapPost("/v1/admin/replay", Wrap(admin.Guard(replay.Start))), "startReplay", "admin", "Ship archived records of a topic to Kafka again")
            .Body(json: true, "{\"topic\",\"date\"} (one UTC day) or {\"topic\",\"from\",\"to\"} (ingest times)", json).Produces<object>(StatusCodes.Status202Accepted).Problems(400, 409);
        Guarded(endpoints.MapGet("/v1/admin/replay/{id}", Wrap(admin.Guard(replay.Get))), "getReplay", "admin", "A replay's progress, summed over the silos")
            .Produces<object>(StatusCodes.Status200OK).Problems(404);
        var audit = endpoints.ServiceProvider.GetRequiredService<Admin.AuditEndpoints>();
        var window = new[] { ApiDescription.Query("from", "start of the window: an ISO 8601 time or date, UTC (default: 24 hours before to)"), ApiDescription.Query("to", "end of the window, exclusive; a date includes that day (default: the end of this hour)") };
        Guarded(endpoints.MapGet("/v1/admin/audit/{topic}", Wrap(admin.Guard(audit.Get))), "getAudit", "admin", "A topic's records per UTC hour: accepted, stored, acknowledged by Kafka (offsets), pending, sent again; summed over the silos")
            .Parameters(window).Produces<Admin.AuditAnswer>(StatusCodes.Status200OK).Problems(400);
        if (audit.CanVerify)
        {
            Guarded(endpoints.MapGet("/v1/admin/audit/{topic}/verify", Wrap(admin.Guard(audit.Verify))), "verifyAudit", "admin", "The audit beside what Kafka holds: per hour found, missing and extra copies (silo hosts)")
                .Parameters(window).Produces<object>(StatusCodes.Status200OK).Problems(400, 502);
        }

        var nodes = endpoints.ServiceProvider.GetRequiredService<Admin.NodeEndpoints>();
        Guarded(endpoints.MapPost("/v1/admin/nodes/{silo}/drain", Wrap(admin.Guard(nodes.Drain))), "drainNode", "admin", "Drain a silo: no new topics, its topics handed over, its disk shipped; /v1/status says when it is drained")
            .Produces<Admin.DrainAnswer>(StatusCodes.Status202Accepted).Problems(400, 404, 409);
        Guarded(endpoints.MapDelete("/v1/admin/nodes/{silo}/drain", Wrap(admin.Guard(nodes.Undrain))), "undrainNode", "admin", "Take a drained silo back: it takes work again")
            .Produces<Admin.DrainAnswer>(StatusCodes.Status200OK).Problems(400, 404, 409);
        var config = endpoints.ServiceProvider.GetRequiredService<Admin.ConfigEndpoints>();
        Guarded(endpoints.MapGet("/v1/admin/config", Wrap(admin.Guard(config.Get))), "getConfig", "admin", "The cluster configuration and its version")
            .Produces<Ingest.Configuration.ClusterConfig>(StatusCodes.Status200OK);
        Guarded(endpoints.MapPut("/v1/admin/config", Wrap(admin.Guard(config.Replace))), "replaceConfig", "admin", "Replace the cluster configuration with an edit of what GET returned")
            .Body(json: true, "the configuration as GET returned it, edited", json).Produces<Ingest.Configuration.ClusterConfig>(StatusCodes.Status200OK).Problems(400, 404, 409);
        Guarded(endpoints.MapGet("/v1/admin/config/nodes", Wrap(admin.Guard(config.Nodes))), "getConfigNodes", "admin", "Every node holding the configuration and the version it runs")
            .Produces<object>(StatusCodes.Status200OK);
        Guarded(endpoints.MapPost("/v1/admin/keys", Wrap(admin.Guard(config.CreateKey))), "createKey", "admin", "Create a producer key (the only time it is shown)")
            .Body(json: true, "{\"name\",\"topics\",\"recordsPerSecond\",\"bytesPerSecond\",\"burstSeconds\",\"origins\"}", json).Produces<object>(StatusCodes.Status201Created).Problems(400, 409);
        Guarded(endpoints.MapDelete("/v1/admin/keys/{name}", Wrap(admin.Guard(config.DeleteKey))), "deleteKey", "admin", "Revoke a producer key")
            .Produces(StatusCodes.Status204NoContent).Problems(404, 409);
        var status = endpoints.ServiceProvider.GetRequiredService<Status.StatusEndpoints>();
        Guarded(endpoints.MapGet("/v1/status", Wrap(admin.Guard(status.Get))), "getStatus", "operate", "Every silo's topics: appended, shipped, backlog")
            .Produces<object>(StatusCodes.Status200OK);
        Guarded(endpoints.MapGet("/status", Wrap(admin.Guard(Status.StatusEndpoints.Html))), "statusPage", "operate", "The status page (HTML)")
            .Produces<string>(StatusCodes.Status200OK, "text/html");
        Guarded(endpoints.MapGet("/", Wrap(admin.Guard(Status.StatusEndpoints.Html))), "home", "operate", "The status page (HTML)")
            .Produces<string>(StatusCodes.Status200OK, "text/html");
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        var health = endpoints.ServiceProvider.GetRequiredService<Health.HealthEndpoints>();
        endpoints.MapGet("/healthz", Wrap(Health.HealthEndpoints.Healthz))
            .Describe("healthz", "operate", "The process is alive").Produces<string>(StatusCodes.Status200OK, text);
        endpoints.MapGet("/readyz", Wrap(health.Readyz))
            .Describe("readyz", "operate", "Ready for traffic: joined, configured, disk writable, not shutting down")
            .Produces<object>(StatusCodes.Status200OK).Produces<object>(StatusCodes.Status503ServiceUnavailable);
        endpoints.MapOpenApi(ApiDescription.DocumentPath);
    }

    /// <summary>A handler as a typed delegate: the map calls that take one record it in the API description (a plain RequestDelegate is left out of it).</summary>
    private static Delegate Wrap(RequestDelegate handler) => (Func<HttpContext, Task>)(context => handler(context));

    /// <summary>An admin endpoint: described, and 401 without the admin key.</summary>
    private static RouteHandlerBuilder Guarded(RouteHandlerBuilder endpoint, string name, string tag, string summary) =>
        endpoint.Describe(name, tag, summary).Parameters(ApiDescription.Header("Authorization", "Bearer <Admin:Key>")).Problems(401);

    /// <summary>POST /v1/topics/{topic} or POST /v1/topics/{topic}/batch, by shape only.</summary>
    private static bool IsIngestPost(HttpRequest request)
    {
        if (!HttpMethods.IsPost(request.Method) || !request.Path.StartsWithSegments("/v1/topics", out var rest) || !rest.HasValue)
        {
            return false;
        }

        var tail = rest.Value.AsSpan(1); // after "/v1/topics/"
        var slash = tail.IndexOf('/');
        return tail.Length > 0 && (slash < 0 || (slash > 0 && tail[slash..].SequenceEqual("/batch")));
    }

    private static bool HasConfiguredUrls(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["urls"])
        || !string.IsNullOrEmpty(configuration["http_ports"])
        || !string.IsNullOrEmpty(configuration["https_ports"])
        || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();

    /// <summary>
    /// Meters are matched by name across the whole process: a second host in it (tests run several silos in
    /// one process) has meters of the same names, and OpenTelemetry keeps only the first instrument of a name.
    /// This view drops every instrument that another host's <see cref="System.Diagnostics.Metrics.IMeterFactory"/> made.
    /// </summary>
    private static MeterProviderBuilder OnlyOwnMeters(this MeterProviderBuilder metrics) =>
        ((IDeferredMeterProviderBuilder)metrics).Configure((provider, builder) =>
        {
            var own = provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
            builder.AddView(instrument => instrument.Meter.Scope is System.Diagnostics.Metrics.IMeterFactory other && !ReferenceEquals(other, own) ? MetricStreamConfiguration.Drop : null);
        });
}
