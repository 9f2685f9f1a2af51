using System.Runtime.InteropServices;

namespace Ingest.Segments;

/// <summary>
/// fsync of a directory, so that a file created, renamed or deleted in it survives power loss.
/// .NET has no API for this; on Linux it is open(O_RDONLY | O_DIRECTORY) + fsync.
/// </summary>
internal static partial class DirectorySync
{
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000; // Linux (x86-64 and arm64)

    public static void Fsync(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(directory, ORdOnly | ODirectory);
        if (fd < 0)
        {
            throw new IOException($"open({directory}) for fsync failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            if (FsyncFd(fd) != 0)
            {
                throw new IOException($"fsync({directory}) failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncFd(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
