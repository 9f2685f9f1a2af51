using System.Security.Cryptography;
using Ingest.Options;
using Ingest.Segments;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Ingest.Configuration;

/// <summary>
/// Grain storage in files under <c>&lt;data&gt;/config/</c>, for the single-node default (a cluster uses
/// Redis). Each write goes to a temporary file that is fsync'd and renamed over the old one, then the
/// directory is fsync'd: a crash leaves the old state or the new one, never a mix. The ETag is a hash
/// of the stored bytes, so a write based on stale state is refused.
/// </summary>
internal sealed class FileGrainStorage(string directory, Serializer serializer) : IGrainStorage
{
    public static FileGrainStorage Create(IServiceProvider services, IngestOptions options) =>
        new(Path.Combine(options.ResolveDataDirectory(), "config"), services.GetRequiredService<Serializer>());

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        if (!File.Exists(path))
        {
            Reset(grainState);
            return Task.CompletedTask;
        }

        var bytes = File.ReadAllBytes(path);
        grainState.State = serializer.Deserialize<T>(bytes);
        grainState.ETag = ETagOf(bytes);
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        CheckETag(path, grainState.ETag);
        var bytes = serializer.SerializeToArray(grainState.State);
        Directory.CreateDirectory(directory);
        var temporary = path + ".tmp";
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // holds key hashes and Kafka credentials
        }

        using (var file = new FileStream(temporary, create))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        DirectorySync.Fsync(directory);
        grainState.ETag = ETagOf(bytes);
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        CheckETag(path, grainState.ETag);
        File.Delete(path);
        Reset(grainState);
        return Task.CompletedTask;
    }

    private static void Reset<T>(IGrainState<T> grainState)
    {
        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private void CheckETag(string path, string? expected)
    {
        var stored = File.Exists(path) ? ETagOf(File.ReadAllBytes(path)) : null;
        if (stored != expected)
        {
            throw new InconsistentStateException($"The stored state in {path} changed since it was read.", stored, expected);
        }
    }

    private string PathOf(string stateName, GrainId grainId)
    {
        var name = $"{stateName}-{grainId}";
        var safe = string.Create(name.Length, name, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsAsciiLetterOrDigit(source[i]) || source[i] is '.' or '-' ? source[i] : '_';
            }
        });
        return Path.Combine(directory, safe + ".bin");
    }

    private static string ETagOf(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
}
