namespace Ingest.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline; the failure names what was expected.</summary>
public static class Poll
{
    public static async Task Until(Func<Task<bool>> condition, TimeSpan timeout, string expected)
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
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {expected}");
            }

            // Polling interval of a deadline-bounded check, not a wait for an event.
            await Task.Delay(50);
        }
    }

    /// <summary>Reads <paramref name="read"/> until its value satisfies <paramref name="condition"/>, and returns that value.</summary>
    public static async Task<T> UntilValue<T>(Func<Task<T>> read, Func<T, bool> condition, TimeSpan timeout, string expected)
    {
        var last = default(T);
        await Until(async () => condition(last = await read()), timeout, expected);
        return last!;
    }

    public static Task Until(Func<bool> condition, TimeSpan timeout, string expected) =>
        Until(() => Task.FromResult(condition()), timeout, expected);
}
