namespace Ingest.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline; the failure names what was expected.</summary>
public static class Poll
{
    public static Task Until(Func<Task<bool>> condition, TimeSpan timeout, string expected) =>
        Until(condition, timeout, () => expected);

    /// <param name="expected">Read at the deadline, so it can say what was seen instead.</param>
    public static Task Until(Func<bool> condition, TimeSpan timeout, Func<string> expected) =>
        Until(() => Task.FromResult(condition()), timeout, expected);

    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, Func<string> expected)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {expected()}");
            }

            // Polling interval of a deadline-bounded check, not a wait for an event.
            await Task.Delay(50);
        }
    }

    public static Task Until(Func<bool> condition, TimeSpan timeout, string expected) =>
        Until(() => Task.FromResult(condition()), timeout, expected);
}
