using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ingest.Hosting;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Tests.Archive;

public sealed class ReplayTests : IAsyncLifetime
{
    private readonly KafkaSilo _silo = new();

    public ValueTask InitializeAsync() => _silo.InitializeAsync();

    public ValueTask DisposeAsync() => _silo.DisposeAsync();

    [Fact]
    public async Task replaying_an_archived_window_ships_its_records_again_and_reports_progress_to_the_end_across_a_restart()
    {
        const string topic = "replayed";
        _silo.Kafka.CreateTopic(topic, partitions: 2);
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        var ledger = new Ledger();
        for (var i = 0; i < 300; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(_silo.Http, topic, $"replay-{i}", $"k{i % 3}", i));
        }

        ledger.ReadAndAssertDelivered(_silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(30));
        await _silo.RestartAsync(); // seals the segment; the new silo archives it once shipped
        await Poll.Until(() => StoredRecords.ArchivedSegments(_silo.DataDirectory, topic).Length == 1, TimeSpan.FromSeconds(30),
            "the shipped segment of 'replayed' to be archived");

        // The broker goes down, so the replay cannot finish before the silo restarts.
        _silo.Kafka.SetBrokerDown();
        await _silo.AssertKafkaUnreachableAsync();
        var to = DateTimeOffset.UtcNow.AddMinutes(1);
        var started = await _silo.Http.PostAsJsonAsync("/v1/admin/replay", new { topic, from = from.ToString("o"), to = to.ToString("o") });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var location = started.Headers.Location!.ToString();
        var first = await started.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("running", first.GetProperty("state").GetString());
        Assert.Equal(300, first.GetProperty("recordsTotal").GetInt64());
        Assert.Equal(0, first.GetProperty("recordsDone").GetInt64());

        await _silo.RestartAsync();
        Assert.Equal("running", (await Status(location)).GetProperty("state").GetString());
        _silo.Kafka.SetBrokerUp();

        var progress = new List<long>();
        await Poll.Until(async () =>
        {
            var status = await Status(location);
            progress.Add(status.GetProperty("recordsDone").GetInt64());
            return status.GetProperty("state").GetString() == "done";
        }, TimeSpan.FromSeconds(60), "the replay to report state 'done'");
        var final = await Status(location);
        Assert.Equal(300, final.GetProperty("recordsDone").GetInt64());
        Assert.Equal(progress.Order(), progress); // progress never goes back

        // Every record is in Kafka twice: the original shipment and the replay.
        var consumed = KafkaTestClient.ReadAll(_silo.Kafka.BootstrapServers, topic, expected: 600, TimeSpan.FromSeconds(30));
        var counts = consumed.GroupBy(m => JsonDocument.Parse(m.Value).RootElement.GetProperty("id").GetString()).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(300, counts.Count);
        Assert.All(counts.Values, count => Assert.Equal(2, count));
    }

    [Theory]
    [InlineData("not json", "JSON object")]
    [InlineData("""{"from":"2026-11-20","to":"2026-11-21"}""", "\"topic\"")]
    [InlineData("""{"topic":"bad topic!","date":"2026-11-20"}""", "not a valid topic name")]
    [InlineData("""{"topic":"t","from":"2026-11-21","to":"2026-11-20"}""", "must be after")]
    [InlineData("""{"topic":"t","date":"yesterday"}""", "\"date\" must be")]
    [InlineData("""{"topic":"t"}""", "Give \"date\"")]
    public async Task a_malformed_replay_request_gets_a_400_problem(string body, string detail)
    {
        var response = await _silo.Http.PostAsync("/v1/admin/replay", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(detail, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task an_unknown_replay_id_is_a_404_problem()
    {
        var response = await _silo.Http.GetAsync($"/v1/admin/replay/{Guid.NewGuid():N}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private async Task<JsonElement> Status(string location) =>
        await _silo.Http.GetFromJsonAsync<JsonElement>(location);
}
