namespace Ingest.Topics;

/// <summary>
/// Kafka's rule for topic names: 1 to 249 of <c>[A-Za-z0-9._-]</c>, and not "." or "..".
/// The name becomes a directory under the data directory, so this rule is also what keeps a request
/// from naming a path outside it: no separator, no traversal, no NUL can pass.
/// </summary>
public static class TopicName
{
    public const int MaxLength = 249;

    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxLength || name is "." or "..")
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
