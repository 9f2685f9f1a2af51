using System.Collections.Concurrent;
using System.Net;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Http;

public sealed class FsyncConcurrencyTests(FsyncSilo silo) : IClassFixture<FsyncSilo>
{
    [Fact]
    public async Task under_fsync_concurrent_appends_share_commits_and_every_202d_record_is_stored_once()
    {
        using var commits = new TopicCounter("ingest.group_commits", "fsync-hot");

        var acked = await Load.Run(silo, "fsync-hot", clients: 64, recordsPerClient: 40);

        Load.AssertExactlyOnceInClientOrder(silo.Records("fsync-hot"), acked, clients: 64);
        var requests = 64 * 40;
        Assert.True(commits.Total > 0, "the group-commit counter should have counted commits");
        Assert.True(commits.Total < requests / 2,
            $"{requests} concurrent requests took {commits.Total} commits (write + fsync); group commit should share them");
    }
}

internal static class Load
{
    /// <summary>Each client posts its records one after another; returns the ids that got 202.</summary>
    public static async Task<ConcurrentBag<string>> Run(InProcessSilo silo, string topic, int clients, int recordsPerClient)
    {
        var acked = new ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (var n = 0; n < recordsPerClient; n++)
            {
                var id = $"{c}:{n}";
                var response = await silo.Http.PostAsync($"/v1/topics/{topic}?key=c{c}", new StringContent($$"""{"id":"{{id}}","pad":"{{new string('p', 100)}}"}"""));
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                acked.Add(id);
            }
        })));
        return acked;
    }

    public static void AssertExactlyOnceInClientOrder(List<StoredRecord> stored, IEnumerable<string> acked, int clients)
    {
        var ids = stored.Select(r => System.Text.Json.JsonDocument.Parse(r.Value).RootElement.GetProperty("id").GetString()!).ToList();
        var duplicates = ids.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"stored more than once: {string.Join(", ", duplicates.Take(10))}");
        var missing = acked.Except(ids).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} records got 202 but are not stored, e.g. {string.Join(", ", missing.Take(10))}");
        for (var c = 0; c < clients; c++)
        {
            var prefix = $"{c}:";
            var order = ids.Where(i => i.StartsWith(prefix, StringComparison.Ordinal)).Select(i => int.Parse(i[prefix.Length..])).ToList();
            Assert.Equal(order.Order(), order);
        }

        Assert.All(stored, r => Assert.Equal("c" + r.ValueText.Split('"')[3].Split(':')[0], r.KeyText));
    }
}
