using Ingest.Configuration;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Configuration;

public sealed class LastKeyTests : IAsyncLifetime
{
    private readonly ConfigSilo _silo = new();

    public ValueTask InitializeAsync() => _silo.InitializeAsync();

    public ValueTask DisposeAsync() => _silo.DisposeAsync();

    [Fact]
    public async Task revoking_the_last_key_leaves_the_endpoints_closed_until_keys_are_turned_off_explicitly()
    {
        var (key, _) = await _silo.Admin.CreateKeyAsync(new { name = "only" });
        await Poll.Until(async () => await Producer.PostAsync(_silo.Http, "last-key", null) == System.Net.HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(5), "keys to be required once a key exists");
        Assert.True((await _silo.Admin.GetConfigAsync())["requireKeys"]!.GetValue<bool>());

        using var deleted = await _silo.Admin.DeleteKeyAsync("only");
        var version = long.Parse(deleted.Headers.GetValues("X-Config-Version").Single());
        await Producer.RunsVersionAsync(_silo.Http, version);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await Producer.PostAsync(_silo.Http, "last-key", null));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, await Producer.PostAsync(_silo.Http, "last-key", key));
        Assert.Empty(_silo.Records("last-key"));

        var open = await _silo.Admin.ApplyAsync(config => config["requireKeys"] = false);
        await Producer.RunsVersionAsync(_silo.Http, open);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, await Producer.PostAsync(_silo.Http, "last-key", null));
    }
}
