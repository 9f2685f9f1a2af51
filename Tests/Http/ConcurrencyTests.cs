using System.Collections.Concurrent;
using System.Net;
using Ingest.Tests.Infrastructure;

namespace Ingest.Tests.Http;

/// <summary>A silo that fsyncs before every 202, so group commit is what keeps it fast.</summary>
public sealed class FsyncSilo : InProcessSilo
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Ingest:Durability", "Fsync")];
}

public sealed class ConcurrencyTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    [Fact]
    public async Task sixty_four_concurrent_clients_on_one_topic_each_find_every_202d_record_exactly_once_and_in_their_order()
    {
        var acked = await Load.Run(silo, "hot", clients: 64, recordsPerClient: 150);

        Load.AssertExactlyOnceInClientOrder(silo.Records("hot"), acked, clients: 64);
    }
}
