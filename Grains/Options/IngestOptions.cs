using Microsoft.Extensions.Options;

namespace Ingest.Options;

/// <summary>How far a record must have travelled before the API answers 202.</summary>
public enum Durability
{
    /// <summary>Written to the operating system (one write(2) per group commit): survives a process kill.</summary>
    Flush,

    /// <summary>Also fsync'd (file and, for new or renamed files, the directory): survives power loss.</summary>
    Fsync,
}

/// <summary>Storage settings of a silo, section <c>Ingest</c>.</summary>
public sealed class IngestOptions
{
    public const string SectionName = "Ingest";

    /// <summary>Where segments live. Relative paths are resolved against the working directory. Default <c>data</c>.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Default <see cref="Options.Durability.Flush"/>.</summary>
    public Durability Durability { get; set; } = Durability.Flush;

    /// <summary>
    /// Bytes the data directory may hold (active + unshipped + archived segments). Past it appends get
    /// 503 with Retry-After; nothing stored is dropped to make room. Default 10 GiB.
    /// </summary>
    public long MaxDiskBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>
    /// Free space the file system must keep, whatever <see cref="MaxDiskBytes"/> allows: a shared disk can
    /// fill up for other reasons. Default 64 MiB.
    /// </summary>
    public long MinFreeDiskBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// A segment is sealed once it holds this many bytes (checked after each commit), so shipped data
    /// can be deleted while a topic keeps writing. Default 128 MiB.
    /// </summary>
    public long MaxSegmentBytes { get; set; } = 128L * 1024 * 1024;

    public string ResolveDataDirectory() => Path.GetFullPath(DataDirectory);
}

internal sealed class IngestOptionsValidator : IValidateOptions<IngestOptions>
{
    public ValidateOptionsResult Validate(string? name, IngestOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            errors.Add("Ingest:DataDirectory must name a directory.");
        }

        if (!Enum.IsDefined(options.Durability))
        {
            errors.Add("Ingest:Durability must be Flush or Fsync.");
        }

        if (options.MaxDiskBytes <= 0)
        {
            errors.Add($"Ingest:MaxDiskBytes must be positive (was {options.MaxDiskBytes}).");
        }

        if (options.MinFreeDiskBytes < 0)
        {
            errors.Add($"Ingest:MinFreeDiskBytes must not be negative (was {options.MinFreeDiskBytes}).");
        }

        if (options.MaxSegmentBytes < 4096)
        {
            errors.Add($"Ingest:MaxSegmentBytes must be at least 4096 (was {options.MaxSegmentBytes}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
