using System.Globalization;
using Ingest.Topics;
using Orleans.Runtime;

namespace Ingest.Api.Admin;

/// <summary>What the admin endpoints share: a call to every active silo's forwarding grain, and the times they take.</summary>
internal static class AdminCalls
{
    /// <summary>Calls every active silo's forwarding grain, each within <paramref name="timeout"/>.</summary>
    public static async Task<T[]> OnEverySilo<T>(IGrainFactory grains, TimeProvider time, TimeSpan timeout, Func<IForwarderGrain, Task<T>> call)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(timeout, time);
        return await Task.WhenAll(hosts.Keys.Select(silo => call(grains.GetGrain<IForwarderGrain>(Forwarders.KeyFor(silo))).WaitAsync(timeout, time)));
    }

    /// <summary>
    /// An ISO 8601 time (UTC unless it gives an offset) or a date, <c>yyyy-MM-dd</c> (its start, or with
    /// <paramref name="endOfDay"/> the start of the next day, so a date as the end of a window includes that day).
    /// </summary>
    public static bool TryParseTime(string text, bool endOfDay, out DateTimeOffset time, out bool isDate)
    {
        isDate = false;
        if (DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var day))
        {
            isDate = true;
            time = new DateTimeOffset(DateTime.SpecifyKind(day, DateTimeKind.Utc)).AddDays(endOfDay ? 1 : 0);
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time);
    }
}
