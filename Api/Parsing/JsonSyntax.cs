using System.Buffers;

namespace Ingest.Api.Parsing;

/// <summary>
/// Checks that UTF-8 text is exactly one JSON value (RFC 8259) with optional surrounding whitespace,
/// nested at most <see cref="MaxDepth"/> deep. It only answers "well-formed or not, and where": it
/// builds no tokens, so it is cheaper than a <c>Utf8JsonReader</c> pass (0.5–0.9 of its time, bench/parse.sh), and string
/// contents (most of an event's bytes) are skipped with a vectorized search. UTF-8 validity is
/// checked separately (<c>Utf8.IsValid</c>). The tests compare its verdict with
/// <c>Utf8JsonReader</c>'s on generated and mutated documents; bench/parse.sh measures it beside that reader.
/// </summary>
internal static class JsonSyntax
{
    public const int MaxDepth = 64;

    // What ends a run of plain string bytes: the closing quote, an escape, or a control character.
    private static readonly SearchValues<byte> StringSpecials = SearchValues.Create(
        [(byte)'"', (byte)'\\', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]);

    /// <summary>True when <paramref name="text"/> is one JSON value; otherwise <paramref name="error"/> says what and where.</summary>
    public static bool IsOneValue(ReadOnlySpan<byte> text, out string error)
    {
        var at = Validate(text, out var problem);
        if (problem is null)
        {
            error = string.Empty;
            return true;
        }

        error = $"{problem} at byte {at}.";
        return false;
    }

    // Returns the offset of the first problem, with its description; problem is null when the text is valid.
    private static int Validate(ReadOnlySpan<byte> text, out string? problem)
    {
        ulong inObject = 0; // bit d set: the container at depth d+1 is an object
        var depth = 0;
        var i = SkipWhitespace(text, 0);
        if (i == text.Length)
        {
            problem = "expected a JSON value, found nothing";
            return i;
        }

    Value:
        if (i == text.Length)
        {
            problem = "expected a value, found the end";
            return i;
        }

        switch (text[i])
        {
            case (byte)'{':
                if (depth == MaxDepth)
                {
                    problem = $"nesting deeper than {MaxDepth}";
                    return i;
                }

                inObject |= 1UL << depth;
                depth++;
                i = SkipWhitespace(text, i + 1);
                if (i < text.Length && text[i] == (byte)'}')
                {
                    depth--;
                    i++;
                    goto AfterValue;
                }

                goto Member;
            case (byte)'[':
                if (depth == MaxDepth)
                {
                    problem = $"nesting deeper than {MaxDepth}";
                    return i;
                }

                inObject &= ~(1UL << depth);
                depth++;
                i = SkipWhitespace(text, i + 1);
                if (i < text.Length && text[i] == (byte)']')
                {
                    depth--;
                    i++;
                    goto AfterValue;
                }

                goto Value;
            case (byte)'"':
                i = SkipString(text, i, out problem);
                if (problem is not null)
                {
                    return i;
                }

                goto AfterValue;
            case (byte)'t':
                if (!text[i..].StartsWith("true"u8))
                {
                    problem = "expected 'true'";
                    return i;
                }

                i += 4;
                goto AfterValue;
            case (byte)'f':
                if (!text[i..].StartsWith("false"u8))
                {
                    problem = "expected 'false'";
                    return i;
                }

                i += 5;
                goto AfterValue;
            case (byte)'n':
                if (!text[i..].StartsWith("null"u8))
                {
                    problem = "expected 'null'";
                    return i;
                }

                i += 4;
                goto AfterValue;
            default:
                if (text[i] == (byte)'-' || IsDigit(text[i]))
                {
                    i = SkipNumber(text, i, out problem);
                    if (problem is not null)
                    {
                        return i;
                    }

                    goto AfterValue;
                }

                problem = $"unexpected {Describe(text[i])} where a value should start";
                return i;
        }

    Member: // at a member's name: "name" : value
        if (i == text.Length || text[i] != (byte)'"')
        {
            problem = i == text.Length ? "expected a property name, found the end" : $"expected a property name, found {Describe(text[i])}";
            return i;
        }

        i = SkipString(text, i, out problem);
        if (problem is not null)
        {
            return i;
        }

        i = SkipWhitespace(text, i);
        if (i == text.Length || text[i] != (byte)':')
        {
            problem = "expected ':' after a property name";
            return i;
        }

        i = SkipWhitespace(text, i + 1);
        goto Value;

    AfterValue:
        i = SkipWhitespace(text, i);
        if (depth == 0)
        {
            if (i == text.Length)
            {
                problem = null;
                return i;
            }

            problem = "more than one JSON value";
            return i;
        }

        if (i == text.Length)
        {
            problem = "unexpected end inside an object or array";
            return i;
        }

        var objectHere = (inObject & (1UL << (depth - 1))) != 0;
        switch (text[i])
        {
            case (byte)',':
                i = SkipWhitespace(text, i + 1);
                if (objectHere)
                {
                    goto Member;
                }

                goto Value;
            case (byte)'}' when objectHere:
            case (byte)']' when !objectHere:
                depth--;
                i++;
                goto AfterValue;
            default:
                problem = $"unexpected {Describe(text[i])}, expected ',' or '{(objectHere ? '}' : ']')}'";
                return i;
        }
    }

    private static int SkipString(ReadOnlySpan<byte> text, int i, out string? problem)
    {
        var start = i;
        i++; // the opening quote
        while (true)
        {
            var run = text[i..].IndexOfAny(StringSpecials);
            if (run < 0)
            {
                problem = "unterminated string";
                return start;
            }

            if (text[i + run] < 0x20)
            {
                problem = $"control character 0x{text[i + run]:X2} inside a string";
                return i + run;
            }

            i += run;
            if (text[i] == (byte)'"')
            {
                problem = null;
                return i + 1;
            }

            // A backslash: one of the eight short escapes or \uXXXX.
            if (i + 1 == text.Length)
            {
                problem = "unterminated string";
                return start;
            }

            switch (text[i + 1])
            {
                case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    i += 2;
                    break;
                case (byte)'u':
                    if (i + 6 > text.Length || !IsHex(text[i + 2]) || !IsHex(text[i + 3]) || !IsHex(text[i + 4]) || !IsHex(text[i + 5]))
                    {
                        problem = "'\\u' needs four hex digits";
                        return i;
                    }

                    i += 6;
                    break;
                default:
                    problem = $"invalid escape '\\{(char)text[i + 1]}'";
                    return i;
            }
        }
    }

    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    private static int SkipNumber(ReadOnlySpan<byte> text, int i, out string? problem)
    {
        var start = i;
        if (text[i] == (byte)'-')
        {
            i++;
        }

        if (i == text.Length || !IsDigit(text[i]))
        {
            problem = "a number needs a digit after '-'";
            return start;
        }

        if (text[i] == (byte)'0')
        {
            i++;
        }
        else
        {
            i = SkipDigits(text, i);
        }

        if (i < text.Length && text[i] == (byte)'.')
        {
            i++;
            if (i == text.Length || !IsDigit(text[i]))
            {
                problem = "a number needs a digit after '.'";
                return start;
            }

            i = SkipDigits(text, i);
        }

        if (i < text.Length && (text[i] == (byte)'e' || text[i] == (byte)'E'))
        {
            i++;
            if (i < text.Length && (text[i] == (byte)'+' || text[i] == (byte)'-'))
            {
                i++;
            }

            if (i == text.Length || !IsDigit(text[i]))
            {
                problem = "a number needs a digit in its exponent";
                return start;
            }

            i = SkipDigits(text, i);
        }

        // A number must end at a delimiter: "01", "1x", "-0.5.1" are not numbers.
        if (i < text.Length && !IsDelimiter(text[i]))
        {
            problem = "invalid number";
            return start;
        }

        problem = null;
        return i;
    }

    private static int SkipDigits(ReadOnlySpan<byte> text, int i)
    {
        while (i < text.Length && IsDigit(text[i]))
        {
            i++;
        }

        return i;
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> text, int i)
    {
        while (i < text.Length && text[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i++;
        }

        return i;
    }

    private static bool IsDelimiter(byte b) => b is (byte)',' or (byte)'}' or (byte)']' or (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r';

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool IsHex(byte b) => IsDigit(b) || (uint)((b | 0x20) - 'a') <= 5;

    private static string Describe(byte b) => b is >= 0x21 and < 0x7F ? $"'{(char)b}'" : $"byte 0x{b:X2}";
}
