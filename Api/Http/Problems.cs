using Microsoft.AspNetCore.Http;

namespace Ingest.Api.Http;

/// <summary>Why a request is refused before anything is stored: its status, title and a detail that says what to change.</summary>
internal sealed record Rejection(int Status, string Title, string Detail);

/// <summary>Every refusal of this frontend is an <c>application/problem+json</c> body.</summary>
internal static class Problems
{
    public static Task Write(HttpContext context, int status, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title).ExecuteAsync(context);

    public static Task Write(HttpContext context, Rejection rejection) =>
        Write(context, rejection.Status, rejection.Title, rejection.Detail);
}
