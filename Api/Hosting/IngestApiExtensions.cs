using Ingest.Api.Appending;
using Ingest.Configuration;
using Ingest.Api.Http;
using Ingest.Api.Options;
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
    public static WebApplicationBuilder AddIngestApi(this WebApplicationBuilder builder, string defaultUrl)
    {
        var services = builder.Services;
        services.AddOptions<IngestApiOptions>().BindConfiguration(IngestApiOptions.SectionName).ValidateOnStart();
        services.AddOptions<ClusterSettings>().BindConfiguration(ClusterSettings.SectionName);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IngestApiOptions>, IngestApiOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddConfigSubscriber();
        services.AddMetrics();
        services.AddSingleton<Diagnostics.ApiInstruments>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(Diagnostics.ApiInstruments.MeterName, "Ingest")
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
        services.AddSingleton<Admin.ConfigEndpoints>();
        services.AddSingleton<Status.StatusEndpoints>();
        services.AddOptions<Admin.AdminOptions>().BindConfiguration(Admin.AdminOptions.SectionName);
        services.AddSingleton<Admin.AdminAuthorization>();
        services.AddProblemDetails();

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
        app.UseWhen(context => !IsIngestPost(context.Request), branch => branch.UseStatusCodePages());
        var handler = app.Services.GetRequiredService<IngestHandler>();
        MapIngestEndpoints(app, handler);
        return app;
    }

    private static void MapIngestEndpoints(IEndpointRouteBuilder endpoints, IngestHandler handler)
    {
        var topics = endpoints.MapGroup("/v1/topics");
        topics.MapPost("/{topic}", (RequestDelegate)handler.AppendOne);
        topics.MapPost("/{topic}/batch", (RequestDelegate)handler.AppendBatch);
        var browsers = endpoints.ServiceProvider.GetRequiredService<BrowserRequests>();
        topics.MapMethods("/{topic}", [HttpMethods.Options], (RequestDelegate)browsers.Preflight);
        topics.MapMethods("/{topic}/batch", [HttpMethods.Options], (RequestDelegate)browsers.Preflight);
        var replay = endpoints.ServiceProvider.GetRequiredService<Admin.ReplayEndpoints>();
        var admin = endpoints.ServiceProvider.GetRequiredService<Admin.AdminAuthorization>();
        endpoints.MapPost("/v1/admin/replay", admin.Guard(replay.Start));
        endpoints.MapGet("/v1/admin/replay/{id}", admin.Guard(replay.Get));
        var config = endpoints.ServiceProvider.GetRequiredService<Admin.ConfigEndpoints>();
        endpoints.MapGet("/v1/admin/config", admin.Guard(config.Get));
        endpoints.MapPut("/v1/admin/config", admin.Guard(config.Replace));
        endpoints.MapGet("/v1/admin/config/nodes", admin.Guard(config.Nodes));
        var status = endpoints.ServiceProvider.GetRequiredService<Status.StatusEndpoints>();
        endpoints.MapGet("/v1/status", admin.Guard(status.Get));
        endpoints.MapGet("/status", admin.Guard(Status.StatusEndpoints.Html));
        endpoints.MapGet("/", admin.Guard(Status.StatusEndpoints.Html));
        endpoints.MapPost("/v1/admin/keys", admin.Guard(config.CreateKey));
        endpoints.MapDelete("/v1/admin/keys/{name}", admin.Guard(config.DeleteKey));
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        var health = endpoints.ServiceProvider.GetRequiredService<Health.HealthEndpoints>();
        endpoints.MapGet("/healthz", (RequestDelegate)Health.HealthEndpoints.Healthz);
        endpoints.MapGet("/readyz", (RequestDelegate)health.Readyz);
    }

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
}
