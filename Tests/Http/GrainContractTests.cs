using Ingest.Records;
using Ingest.Tests.Infrastructure;
using Ingest.Topics;

namespace Ingest.Tests.Http;

public sealed class GrainContractTests(InProcessSilo silo) : IClassFixture<InProcessSilo>
{
    [Fact]
    public async Task the_topic_grain_refuses_frames_whose_crc_does_not_match_and_writes_nothing()
    {
        var frame = new byte[RecordFrame.SizeOf(0, 5)];
        RecordFrame.Write(frame, 1, [], false, "hello"u8);
        frame[^1] ^= 1;
        var grain = silo.Service<IGrainFactory>().GetGrain<ITopicGrain>("grain-contract");

        var result = await grain.Append(new AppendBatch(frame, 1));

        Assert.Equal(AppendStatus.InvalidFrames, result.Status);
        Assert.Empty(silo.Records("grain-contract"));
    }

    [Fact]
    public async Task the_topic_grain_refuses_a_record_count_that_does_not_match_the_frames()
    {
        var frame = new byte[RecordFrame.SizeOf(0, 5)];
        RecordFrame.Write(frame, 1, [], false, "hello"u8);
        var grain = silo.Service<IGrainFactory>().GetGrain<ITopicGrain>("grain-count");

        var result = await grain.Append(new AppendBatch(frame, 2));

        Assert.Equal(AppendStatus.InvalidFrames, result.Status);
    }
}
