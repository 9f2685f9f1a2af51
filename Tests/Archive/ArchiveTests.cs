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

/// <summary>Segments rotate every 8 KiB: under load that is a rotation every few hundred milliseconds.</summary>
public sealed class FastRotatingKafkaSilo : KafkaSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings => [new("Ingest:MaxSegmentBytes", "8192")];
}

public sealed class RotationUnderLoadTests(FastRotatingKafkaSilo silo) : IClassFixture<FastRotatingKafkaSilo>
{
    [Fact]
    public async Task with_64_clients_and_constant_rotation_every_record_is_in_exactly_one_segment_and_reaches_kafka_once()
    {
        const string topic = "rotating";
        silo.Kafka.CreateTopic(topic, partitions: 4);
        var ledger = new Ledger();
        await Task.WhenAll(Enumerable.Range(0, 64).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(silo.Http, topic, $"r{c}-{i}", $"client-{c}", i));
            }
        })));

        var (_, duplicates) = ledger.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
        Assert.Equal(0, duplicates);

        // Every sealed segment ends up in the archive once shipped; the open one stays in segments/.
        var segments = Path.Combine(silo.DataDirectory, "segments", topic);
        await Poll.Until(() => Directory.GetFiles(segments, "*.seg").Length == 0, TimeSpan.FromSeconds(30),
            "every sealed segment of 'rotating' to be shipped and moved to the archive");
        var archived = StoredRecords.ArchivedSegments(silo.DataDirectory, topic);
        // ~25 segments at 8 KiB; a segment is sealed after the commit that crosses the limit, and under
        // load one commit can hold dozens of records, so fewer, larger segments are right too.
        Assert.True(archived.Length >= 10, $"1,600 records of ~130 framed bytes in 8 KiB segments should rotate at least 10 times, archived {archived.Length}");
        var stored = StoredRecords.ReadArchive(silo.DataDirectory, topic).Concat(silo.Records(topic)).Select(r => r.ValueText).ToList();
        Assert.Equal(ledger.Count, stored.Count);
        Assert.Equal(ledger.Count, stored.Distinct().Count());
    }
}

public sealed class ArchiveRestartTests : IAsyncLifetime
{
    private readonly KafkaSilo _silo = new();

    public ValueTask InitializeAsync() => _silo.InitializeAsync();

    public ValueTask DisposeAsync() => _silo.DisposeAsync();

    [Fact]
    public async Task a_segment_sealed_while_kafka_is_down_and_the_silo_restarted_is_shipped_once_then_archived()
    {
        const string topic = "restart";
        _silo.Kafka.CreateTopic(topic, partitions: 4);
        _silo.Kafka.SetBrokerDown();
        await _silo.AssertKafkaUnreachableAsync();
        var ledger = new Ledger();
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await ledger.PostOne(_silo.Http, topic, $"restart-{i}", "k", i));
        }

        // Stopping deactivates the topic grain, which seals the segment; nothing could be shipped.
        await _silo.RestartAsync();
        var segments = Path.Combine(_silo.DataDirectory, "segments", topic);
        Assert.Equal(["000000000001.seg"], Directory.GetFiles(segments, "*.seg").Select(Path.GetFileName));
        Assert.Empty(StoredRecords.ArchivedSegments(_silo.DataDirectory, topic));

        _silo.Kafka.SetBrokerUp();
        var (_, duplicates) = ledger.ReadAndAssertDelivered(_silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
        Assert.Equal(0, duplicates);
        await Poll.Until(() => StoredRecords.ArchivedSegments(_silo.DataDirectory, topic).Length == 1, TimeSpan.FromSeconds(30),
            "the shipped segment to be moved to archive/<day>/restart/");
        Assert.Empty(Directory.GetFiles(segments, "*.seg"));
        Assert.Equal(50, StoredRecords.ReadArchive(_silo.DataDirectory, topic).Count);
    }
}

/// <summary>A forwarding silo whose Ingest clock is a fake (retention reads it), keeping 2 days of archive.</summary>
public sealed class RetentionKafkaSilo : KafkaSilo
{
    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Ingest:RetentionDays", "2"),
        new("Kafka:ProducerSettings:message.timeout.ms", "0"),
    ];

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddKeyedSingleton<TimeProvider>(IngestClock.ServiceKey, Clock);
}

public sealed class RetentionTests : IAsyncLifetime
{
    private readonly RetentionKafkaSilo _silo = new();

    public ValueTask InitializeAsync() => _silo.InitializeAsync();

    public ValueTask DisposeAsync() => _silo.DisposeAsync();

    [Fact]
    public async Task retention_deletes_an_archived_day_after_RetentionDays_and_never_an_unshipped_segment()
    {
        _silo.Kafka.CreateTopic("kept", partitions: 2);
        _silo.Kafka.CreateTopic("pending", partitions: 2);
        var shipped = new Ledger();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await shipped.PostOne(_silo.Http, "kept", $"kept-{i}", null, i));
        }

        // "kept": shipped, then sealed by the day change, then archived under today's date.
        shipped.ReadAndAssertDelivered(_silo.Kafka.BootstrapServers, "kept", TimeSpan.FromSeconds(30));
        var today = _silo.Clock.GetUtcNow().UtcDateTime.Date;
        _silo.Clock.SetUtcNow(new DateTimeOffset(today.AddDays(1), TimeSpan.Zero));
        Assert.Equal(HttpStatusCode.Accepted, await shipped.PostOne(_silo.Http, "kept", "kept-next-day", null, 20));
        await Poll.Until(() => StoredRecords.ArchivedSegments(_silo.DataDirectory, "kept").Length == 1, TimeSpan.FromSeconds(30),
            "yesterday's segment of 'kept' to be archived");
        var archivedDay = Path.Combine(_silo.DataDirectory, "archive", today.ToString("yyyyMMdd"));
        Assert.True(Directory.Exists(archivedDay), $"the archive should be dated by the segment's first record: {archivedDay}");

        // "pending": written while Kafka is down, so it stays unshipped in segments/.
        _silo.Kafka.SetBrokerDown();
        await _silo.AssertKafkaUnreachableAsync();
        var pending = new Ledger();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, await pending.PostOne(_silo.Http, "pending", $"pending-{i}", null, i));
        }

        // Two days of retention: the archived day survives the next two days...
        _silo.Clock.SetUtcNow(new DateTimeOffset(today.AddDays(2).AddHours(23), TimeSpan.Zero));
        await WaitForRescans();
        Assert.True(Directory.Exists(archivedDay), "an archived day must be kept for RetentionDays");

        // ...and is deleted on the third. The unshipped segment of the same day is untouched.
        _silo.Clock.SetUtcNow(new DateTimeOffset(today.AddDays(3).AddMinutes(1), TimeSpan.Zero));
        await Poll.Until(() => !Directory.Exists(archivedDay), TimeSpan.FromSeconds(20), $"retention to delete {archivedDay}");
        Assert.Equal(20, _silo.Records("pending").Count);

        _silo.Kafka.SetBrokerUp();
        pending.ReadAndAssertDelivered(_silo.Kafka.BootstrapServers, "pending", TimeSpan.FromSeconds(60));
    }

    /// <summary>Retention runs on every one-second rescan of the forwarder: wait for two of them to pass.</summary>
    private async Task WaitForRescans()
    {
        var marker = Path.Combine(_silo.DataDirectory, "segments", "rescan-marker");
        Directory.CreateDirectory(marker);
        // A topic directory without a shipper gets one on the next rescan, which then writes nothing;
        // the forwarding status lists it once the rescan ran.
        var forwarder = _silo.Service<Orleans.IGrainFactory>().GetGrain<Ingest.Topics.IForwarderGrain>(
            Ingest.Topics.Forwarders.KeyFor(_silo.Service<Orleans.Runtime.ILocalSiloDetails>().SiloAddress));
        await Poll.Until(async () => (await forwarder.GetStatus()).Any(s => s.Topic == "rescan-marker"), TimeSpan.FromSeconds(20),
            "the forwarder's rescan to pick up a new topic directory");
    }
}

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

/// <summary>A silo with an admin key configured.</summary>
public sealed class AdminKeySilo : InProcessSilo
{
    public const string AdminKey = "test-admin-key-5f2c9a7e";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Admin:Key", AdminKey)];
}

public sealed class AdminAuthorizationTests(AdminKeySilo silo) : IClassFixture<AdminKeySilo>
{
    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-key")]
    [InlineData("Basic dGVzdA==")]
    [InlineData("Bearer test-admin-key-5f2c9a7")] // a prefix of the key
    public async Task admin_endpoints_without_the_admin_key_answer_401_and_do_nothing(string? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/replay") { Content = new StringContent("""{"topic":"t","date":"2026-11-20"}""", Encoding.UTF8, "application/json") };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        var response = await silo.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.False(Directory.Exists(Path.Combine(silo.DataDirectory, "replay")), "a refused request must not start a replay");
        Assert.Equal(HttpStatusCode.Unauthorized, (await silo.Http.GetAsync($"/v1/admin/replay/{Guid.NewGuid():N}")).StatusCode);
    }

    [Fact]
    public async Task with_the_admin_key_the_request_reaches_the_endpoint()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/replay") { Content = new StringContent("""{"topic":"t"}""", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKeySilo.AdminKey);

        var response = await silo.Http.SendAsync(request);

        // Past the guard: the endpoint itself validates the body (and this store-only silo has nothing to replay into).
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Give \"date\"", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
    }
}

/// <summary>A forwarding silo with a 64 KiB disk budget and 8 KiB segments: the archive soon competes with new appends.</summary>
public sealed class TightBudgetKafkaSilo : KafkaSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> ExtraSettings =>
    [
        new("Ingest:MaxDiskBytes", "65536"),
        new("Ingest:MaxSegmentBytes", "8192"),
    ];
}

public sealed class ArchiveBudgetTests(TightBudgetKafkaSilo silo) : IClassFixture<TightBudgetKafkaSilo>
{
    [Fact]
    public async Task over_budget_the_oldest_archived_segments_go_first_and_unshipped_data_is_never_deleted()
    {
        const string topic = "evict";
        silo.Kafka.CreateTopic(topic, partitions: 2);
        var shipped = new Ledger();

        // ~260 KiB through a 64 KiB budget with Kafka up: archived segments make room for new appends. On a
        // busy host shipping can fall behind and the budget answers 503 (backpressure, nothing stored): the
        // producer retries, as a real one would, until the record gets its 202.
        for (var i = 0; i < 2000; i++)
        {
            var record = i;
            await Poll.Until(async () => await shipped.PostOne(silo.Http, topic, $"evict-{record}", "k", record) == HttpStatusCode.Accepted,
                TimeSpan.FromSeconds(30), $"record {record} to be accepted once shipping frees budget");
        }

        shipped.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
        var archived = StoredRecords.ArchivedSegments(silo.DataDirectory, topic).Select(p => long.Parse(Path.GetFileNameWithoutExtension(p))).Order().ToList();
        Assert.NotEmpty(archived);
        Assert.DoesNotContain(1L, archived); // the oldest went first...
        Assert.Equal(Enumerable.Range((int)archived[0], archived.Count).Select(n => (long)n), archived); // ...and what is left is the newest, without gaps

        // Kafka down: unshipped data fills the budget. The archive is given up first, then appends get 503.
        silo.Kafka.SetBrokerDown();
        await silo.AssertKafkaUnreachableAsync();
        var unshipped = new Ledger();
        HttpStatusCode status;
        var n = 0;
        do
        {
            status = await unshipped.PostOne(silo.Http, topic, $"unshipped-{n}", "k2", n);
            n++;
        }
        while (status == HttpStatusCode.Accepted && n < 5000);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Empty(StoredRecords.ArchivedSegments(silo.DataDirectory, topic));
        var stored = silo.Records(topic).Select(r => JsonDocument.Parse(r.Value).RootElement.GetProperty("id").GetString()).ToHashSet();
        Assert.All(unshipped.Ids, id => Assert.Contains(id, stored)); // every 202 of the outage is still on disk

        silo.Kafka.SetBrokerUp();
        unshipped.ReadAndAssertDelivered(silo.Kafka.BootstrapServers, topic, TimeSpan.FromSeconds(60));
    }
}
