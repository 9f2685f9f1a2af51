using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Security;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryPermissionTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    [Fact]
    public async Task the_data_directory_and_segment_files_are_readable_by_their_owner_only()
    {
        Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync("/v1/topics/private", new StringContent("{}"))).StatusCode);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(silo.DataDirectory));
        var segment = Directory.GetFiles(Path.Combine(silo.DataDirectory, "segments", "private")).Single(f => f.EndsWith(".active", StringComparison.Ordinal));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(segment));
    }
}
