using System.Net;
using System.Text.Json.Nodes;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Configuration;

public sealed class ConfigRestartTests : IAsyncLifetime
{
    private readonly ConfigSilo _silo = new();

    public ValueTask InitializeAsync() => _silo.InitializeAsync();

    public ValueTask DisposeAsync() => _silo.DisposeAsync();

    [Fact]
    public async Task keys_and_settings_survive_a_restart_with_the_same_version()
    {
        var (key, _) = await _silo.Admin.CreateKeyAsync(new { name = "durable", topics = new[] { "kept" } });
        var version = await _silo.Admin.ApplyAsync(config => config["topics"]!["kept"] = new JsonObject { ["maxRecordBytes"] = 64 });

        await _silo.RestartAsync();

        Assert.Equal(version, await Producer.ConfigVersionAsync(_silo.Http));
        Assert.Equal(HttpStatusCode.Accepted, await Producer.PostAsync(_silo.Http, "kept", key, """{"a":1}"""));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await Producer.PostAsync(_silo.Http, "kept", key, $$"""{"a":"{{new string('a', 80)}}"}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, await Producer.PostAsync(_silo.Http, "kept", null));
    }
}
