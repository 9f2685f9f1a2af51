using System.Buffers;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Ingest.Api.Parsing;

internal enum BodyStatus
{
    Ok,
    Empty,
    TooLarge,
    BadEncoding,
    UnsupportedEncoding,
}

internal readonly record struct BodyRead(BodyStatus Status, string? Detail = null)
{
    public static BodyRead Ok => new(BodyStatus.Ok);
}

/// <summary>
/// Reads a request body into a buffer, never more than a limit: on the wire (Content-Length is checked
/// before reading) and after gzip decompression (checked while inflating, so a gzip bomb stops at the
/// limit instead of filling memory).
/// </summary>
internal static class RequestBodyReader
{
    public static bool IsGzip(HttpRequest request, out BodyRead unsupported)
    {
        unsupported = BodyRead.Ok;
        var encodings = request.Headers.ContentEncoding;
        if (encodings.Count == 0)
        {
            return false;
        }

        var value = encodings.ToString().Trim();
        if (value.Length == 0 || value.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (value.Equals("gzip", StringComparison.OrdinalIgnoreCase) || value.Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        unsupported = new BodyRead(BodyStatus.UnsupportedEncoding, $"Content-Encoding '{value}' is not supported; use gzip or none.");
        return false;
    }

    public static async ValueTask<BodyRead> ReadAsync(HttpRequest request, PooledBuffer destination, int limit, CancellationToken cancellationToken)
    {
        var gzip = IsGzip(request, out var unsupported);
        if (unsupported.Status != BodyStatus.Ok)
        {
            return unsupported;
        }

        if (!gzip && request.ContentLength > limit)
        {
            return TooLarge(limit);
        }

        var result = gzip
            ? await InflateAsync(request.Body, destination, limit, cancellationToken)
            : await CopyAsync(request, destination, limit, cancellationToken);
        if (result.Status == BodyStatus.Ok && destination.Length == 0)
        {
            return new BodyRead(BodyStatus.Empty, "The request body is empty.");
        }

        return result;
    }

    /// <summary>Reads a plain body from the pipe, refusing it as soon as it passes <paramref name="limit"/>.</summary>
    public static async ValueTask<BodyRead> CopyAsync(HttpRequest request, PooledBuffer destination, int limit, CancellationToken cancellationToken)
    {
        var reader = request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            if (destination.Length + buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                return TooLarge(limit);
            }

            foreach (var segment in buffer)
            {
                segment.Span.CopyTo(destination.GetSpan(segment.Length));
                destination.Advance(segment.Length);
            }

            reader.AdvanceTo(buffer.End);
            if (read.IsCompleted)
            {
                return BodyRead.Ok;
            }
        }
    }

    private static async ValueTask<BodyRead> InflateAsync(Stream body, PooledBuffer destination, int limit, CancellationToken cancellationToken)
    {
        try
        {
            await using var gzip = new GZipStream(body, CompressionMode.Decompress, leaveOpen: true);
            while (true)
            {
                var room = limit - destination.Length;
                // Ask for one byte more than the limit allows, so passing it is seen.
                var memory = destination.GetMemory(Math.Min(room + 1, 64 * 1024))[..Math.Min(room + 1, 64 * 1024)];
                var read = await gzip.ReadAsync(memory, cancellationToken);
                if (read == 0)
                {
                    return BodyRead.Ok;
                }

                destination.Advance(read);
                if (destination.Length > limit)
                {
                    return TooLarge(limit, decompressed: true);
                }
            }
        }
        catch (InvalidDataException e)
        {
            return new BodyRead(BodyStatus.BadEncoding, "The gzip body is corrupt: " + e.Message);
        }
    }

    private static BodyRead TooLarge(int limit, bool decompressed = false) =>
        new(BodyStatus.TooLarge, $"The request body{(decompressed ? " (decompressed)" : string.Empty)} is over Ingest:MaxRequestBytes={limit} bytes.");

    public static bool HasMediaType(HttpRequest request, string mediaType)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed))
        {
            return false;
        }

        return parsed.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase);
    }
}
