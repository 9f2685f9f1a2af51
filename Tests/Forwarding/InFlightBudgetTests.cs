using Ingest.Forwarding;

namespace Ingest.Tests.Forwarding;

public sealed class InFlightBudgetTests
{
    [Fact]
    public void records_and_bytes_are_refused_past_the_silo_budget_and_nothing_is_taken_then()
    {
        var budget = new InFlightBudget(maxRecords: 2, maxBytes: 100);

        Assert.True(budget.TryTake(60));
        Assert.False(budget.TryTake(60)); // bytes
        Assert.True(budget.TryTake(40));
        Assert.False(budget.TryTake(1)); // records
        Assert.Equal((2, 100L), (budget.Records, budget.Bytes));
    }

    [Fact]
    public void a_record_larger_than_the_byte_budget_still_goes_when_nothing_else_is_in_flight()
    {
        var budget = new InFlightBudget(maxRecords: 10, maxBytes: 100);

        Assert.True(budget.TryTake(500));
        Assert.False(budget.TryTake(1));
        budget.ReleaseBytes(500);
        budget.ReleaseRecords(1);
        Assert.True(budget.TryTake(1));
    }

    [Fact]
    public void waiting_topics_are_woken_oldest_first_one_per_record_given_back()
    {
        var budget = new InFlightBudget(maxRecords: 3, maxBytes: 1000);
        Assert.True(budget.TryTake(10) && budget.TryTake(10) && budget.TryTake(10));
        var woken = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            var id = i;
            budget.WhenAvailable(() => woken.Add(id));
        }

        Assert.Empty(woken);
        budget.ReleaseRecords(1);
        Assert.Equal([0], woken);
        budget.ReleaseRecords(2);
        Assert.Equal([0, 1, 2], woken);
    }
}
