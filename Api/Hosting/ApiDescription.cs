using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Ingest.Api.Hosting;

/// <summary>A query parameter or request header an endpoint reads, for its OpenAPI description.</summary>
internal sealed record DescribedParameter(string Name, ParameterLocation In, string Description);

/// <summary>
/// The request body an endpoint reads, for its OpenAPI description only. Not <c>Accepts</c> metadata: routing would then
/// refuse other content types itself (415 without a problem body), and a record's body may be of any type.
/// </summary>
internal sealed record DescribedBody(bool Json, string Description, params string[] ContentTypes);

/// <summary>
/// The OpenAPI description of every endpoint (<c>GET /openapi/v1.json</c>), from the endpoints' own metadata: each map
/// call states its name, summary, body, parameters and every status it answers (problem+json for the errors).
/// Parameters read from the query or headers (the handlers read them themselves) are added by
/// <see cref="AddDescribedParameters"/>.
/// </summary>
internal static class ApiDescription
{
    public const string DocumentPath = "/openapi/{documentName}.json";

    public static TBuilder Describe<TBuilder>(this TBuilder endpoint, string name, string tag, string summary) where TBuilder : IEndpointConventionBuilder =>
        endpoint.WithName(name).WithTags(tag).WithSummary(summary);

    /// <summary>
    /// A hot endpoint mapped as a plain <see cref="RequestDelegate"/> (no wrapper on the request path) joins the API description
    /// through its handler's method, as a typed delegate would.
    /// </summary>
    public static TBuilder Described<TBuilder>(this TBuilder endpoint, RequestDelegate handler) where TBuilder : IEndpointConventionBuilder =>
        endpoint.WithMetadata(handler.Method);

    public static TBuilder Parameters<TBuilder>(this TBuilder endpoint, params DescribedParameter[] parameters) where TBuilder : IEndpointConventionBuilder =>
        endpoint.WithMetadata([.. parameters]);

    public static TBuilder Answers<TBuilder>(this TBuilder endpoint, int status, Type? type = null, params string[] contentTypes) where TBuilder : IEndpointConventionBuilder =>
        endpoint.WithMetadata(new Microsoft.AspNetCore.Http.ProducesResponseTypeMetadata(status, type ?? typeof(void), contentTypes.Length == 0 && type is not null ? ["application/json"] : contentTypes));

    public static TBuilder Problems<TBuilder>(this TBuilder endpoint, params int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            endpoint.WithMetadata(new Microsoft.AspNetCore.Http.ProducesResponseTypeMetadata(status, typeof(ProblemDetails), ["application/problem+json"]));
        }

        return endpoint;
    }

    public static TBuilder Body<TBuilder>(this TBuilder endpoint, bool json, string description, params string[] contentTypes) where TBuilder : IEndpointConventionBuilder =>
        endpoint.WithMetadata(new DescribedBody(json, description, contentTypes));

    public static DescribedParameter Query(string name, string description) => new(name, ParameterLocation.Query, description);

    public static DescribedParameter Header(string name, string description) => new(name, ParameterLocation.Header, description);

    /// <summary>Turns <see cref="DescribedParameter"/> and <see cref="DescribedBody"/> metadata into the operation's parameters and body.</summary>
    public static OpenApiOptions AddDescribedParameters(this OpenApiOptions options) =>
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<DescribedBody>().FirstOrDefault() is { } body)
            {
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Description = body.Description,
                    Content = body.ContentTypes.ToDictionary(
                        type => type,
                        _ => new OpenApiMediaType { Schema = new OpenApiSchema { Type = body.Json ? JsonSchemaType.Object : JsonSchemaType.String } }),
                };
            }

            foreach (var parameter in context.Description.ActionDescriptor.EndpointMetadata.OfType<DescribedParameter>())
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = parameter.Name,
                    In = parameter.In,
                    Description = parameter.Description,
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }

            return Task.CompletedTask;
        });
}

/// <summary>The body of a 2xx ingest answer (written by <c>IngestAnswers</c>; this type only describes it).</summary>
/// <param name="Accepted">Records stored.</param>
/// <param name="Durability">The level they reached: flush, fsync or kafka.</param>
/// <param name="Partition">With kafka and one record: the Kafka partition it went to.</param>
/// <param name="Offset">With kafka and one record: its offset there.</param>
internal sealed record AcceptedAnswer(int Accepted, string Durability, int? Partition, long? Offset);
