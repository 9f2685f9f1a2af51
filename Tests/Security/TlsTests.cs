using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Security;

/// <summary>
/// A silo serving HTTPS only, with a self-signed certificate configured the standard Kestrel way
/// (<c>Kestrel:Endpoints:Https:Url</c>, <c>Certificate:Path</c>, <c>Certificate:KeyPath</c>), as SECURITY.md documents.
/// </summary>
public sealed class TlsSilo : InProcessSilo
{
    private readonly TempDirectory _certificates = new("ingest-tls");

    public TlsSilo()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false)); // server auth
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        Thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        File.WriteAllText(CertificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(KeyPath, key.ExportPkcs8PrivateKeyPem());
    }

    public string Thumbprint { get; }

    private string CertificatePath => Path.Combine(_certificates.Path, "ingest.crt");

    private string KeyPath => Path.Combine(_certificates.Path, "ingest.key");

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Kestrel:Endpoints:Https:Url", "https://127.0.0.1:0"),
        new("Kestrel:Endpoints:Https:Certificate:Path", CertificatePath),
        new("Kestrel:Endpoints:Https:Certificate:KeyPath", KeyPath),
    ];

    /// <summary>Trusts exactly this silo's certificate (pinned by its SHA-256 thumbprint), nothing else.</summary>
    protected override SocketsHttpHandler CreateHandler() => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is X509Certificate2 presented && presented.GetCertHashString(HashAlgorithmName.SHA256) == Thumbprint,
        },
    };

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _certificates.Dispose();
    }
}

public sealed class TlsTests(TlsSilo silo) : IClassFixture<TlsSilo>
{
    [Fact]
    public async Task records_posted_over_https_with_the_configured_certificate_are_accepted_over_http_1_1_and_http_2()
    {
        Assert.Equal("https", silo.BaseAddress.Scheme);

        using var http11 = await silo.Http.PostAsync("/v1/topics/over-tls", new StringContent("""{"tls":1}"""));
        using var http2 = await silo.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/topics/over-tls")
        {
            Content = new StringContent("""{"tls":2}"""),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        });

        Assert.Equal(HttpStatusCode.Accepted, http11.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, http2.StatusCode);
        Assert.Equal(HttpVersion.Version20, http2.Version);
        Assert.Equal(["""{"tls":1}""", """{"tls":2}"""], silo.Records("over-tls").Select(r => r.ValueText).Order());
    }

    [Fact]
    public async Task a_client_that_does_not_trust_the_certificate_or_speaks_plain_http_gets_nothing_stored()
    {
        using var untrusting = new HttpClient { BaseAddress = silo.BaseAddress };
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.PostAsync("/v1/topics/untrusted", new StringContent("{}")));
        Assert.IsType<System.Security.Authentication.AuthenticationException>(refused.InnerException);

        // Plain HTTP on the TLS port: Kestrel closes the connection without an answer.
        using var plain = new HttpClient { BaseAddress = new UriBuilder(silo.BaseAddress) { Scheme = "http" }.Uri };
        await Assert.ThrowsAsync<HttpRequestException>(() => plain.PostAsync("/v1/topics/untrusted", new StringContent("{}")));

        Assert.Empty(silo.Records("untrusted"));
    }
}
