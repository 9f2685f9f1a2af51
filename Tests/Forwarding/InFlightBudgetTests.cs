using Ingest.Forwarding;

namespace Ingest.Tests.Forwarding;

public sealed class InFlightBudgetTests
{
    [Fact]
    public void records_and_bytes_are_refused_past_the_silo_budget_and_nothing_is_taken_then()
    {
        var budget = new InFlightBudget(maxRecords: 2, maxBytes: 100);

        Assert.True(budget.TryTake(60, Pass));
        Assert.False(budget.TryTake(60, Pass)); // bytes
        Assert.True(budget.TryTake(40, Pass));
        Assert.False(budget.TryTake(1, Pass)); // records
        Assert.Equal((2, 100L), (budget.Records, budget.Bytes));
    }

    [Fact]
    public void a_record_larger_than_the_byte_budget_still_goes_when_nothing_else_is_in_flight()
    {
        var budget = new InFlightBudget(maxRecords: 10, maxBytes: 100);

        Assert.True(budget.TryTake(500, Pass));
        Assert.False(budget.TryTake(1, Pass));
        budget.ReleaseBytes(500);
        budget.ReleaseRecords(1);
        Assert.True(budget.TryTake(1, Pass));
    }

    [Fact]
    public void waiting_topics_are_woken_oldest_first_one_per_record_given_back()
    {
        var budget = new InFlightBudget(maxRecords: 3, maxBytes: 1000);
        Assert.True(budget.TryTake(10, Pass) && budget.TryTake(10, Pass) && budget.TryTake(10, Pass));
        var woken = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            var id = i;
            budget.WhenAvailable(new BudgetPass(), () => woken.Add(id));
        }

        Assert.Empty(woken);
        budget.ReleaseRecords(1);
        Assert.Equal([0], woken);
        budget.ReleaseRecords(2);
        Assert.Equal([0, 1, 2], woken);
    }

    [Fact]
    public void while_topics_wait_a_topic_that_was_not_waiting_cannot_overtake_them_and_a_woken_topic_gets_the_budget_first()
    {
        var budget = new InFlightBudget(maxRecords: 1, maxBytes: 1000);
        var busy = new BudgetPass();
        var waiting = new BudgetPass();
        Assert.True(budget.TryTake(10, busy));
        Assert.False(budget.TryTake(10, waiting));
        var woken = 0;
        budget.WhenAvailable(waiting, () => woken++);
        budget.WhenAvailable(waiting, () => woken++); // asking again keeps its one place in line

        budget.ReleaseRecords(1);

        Assert.Equal(1, woken);
        Assert.False(budget.TryTake(10, busy)); // free, but promised to the woken topic
        Assert.True(budget.TryTake(10, waiting));
        budget.EndTurn(waiting);
        Assert.Equal(0, budget.Queued);
        budget.ReleaseRecords(1);
        Assert.True(budget.TryTake(10, busy)); // nobody waits any more: no pass needed
    }

    [Fact]
    public void a_woken_topic_that_took_nothing_gives_its_turn_to_the_next_in_line()
    {
        var budget = new InFlightBudget(maxRecords: 1, maxBytes: 1000);
        var holder = new BudgetPass();
        Assert.True(budget.TryTake(10, holder));
        var first = new BudgetPass();
        var second = new BudgetPass();
        var woken = new List<string>();
        budget.WhenAvailable(first, () => woken.Add("first"));
        budget.WhenAvailable(second, () => woken.Add("second"));

        budget.ReleaseRecords(1);
        budget.EndTurn(first); // its turn found nothing to send

        Assert.Equal(["first", "second"], woken);
        Assert.True(budget.TryTake(10, second));
    }

    private static BudgetPass Pass => new();
}
