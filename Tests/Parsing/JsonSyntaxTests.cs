using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Ingest.Api.Parsing;

namespace Ingest.Tests.Parsing;

/// <summary>
/// The NDJSON line validator must agree with System.Text.Json's reader on what is one JSON value:
/// checked on hand-picked edge cases and on tens of thousands of generated and mutated documents.
/// </summary>
public sealed class JsonSyntaxTests
{
    [Theory]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("  {\"a\" : [1, -0.5e+10, true, false, null, \"x\\u00e9\\n\\\"\"]}\t")]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("1E5")]
    [InlineData("\"just a string\"")]
    [InlineData("null")]
    [InlineData("{\"nested\":{\"deeper\":[[[]]]}}")]
    [InlineData("\"\\/\\b\\f\\r\\t\\\\\"")]
    public void well_formed_values_are_accepted(string json)
    {
        Assert.True(JsonSyntax.IsOneValue(Encoding.UTF8.GetBytes(json), out var error), error);
        Assert.True(ReaderAccepts(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("", "found nothing")]
    [InlineData("   ", "found nothing")]
    [InlineData("{\"a\":[1", "unexpected end")]
    [InlineData("{", "found the end")]
    [InlineData("{\"a\":1,}", "expected a property name")]
    [InlineData("[1,]", "where a value should start")]
    [InlineData("[1 2]", "expected ','")]
    [InlineData("{\"a\" 1}", "expected ':'")]
    [InlineData("{a:1}", "expected a property name")]
    [InlineData("01", "invalid number")]
    [InlineData("1.", "digit after '.'")]
    [InlineData("-", "digit after '-'")]
    [InlineData("1e", "exponent")]
    [InlineData("tru", "expected 'true'")]
    [InlineData("\"abc", "unterminated string")]
    [InlineData("\"a\\x\"", "invalid escape")]
    [InlineData("\"\\u12G4\"", "four hex digits")]
    [InlineData("\"tab\tinside\"", "control character 0x09")]
    [InlineData("{} {}", "more than one JSON value")]
    [InlineData("[1]]", "more than one JSON value")]
    [InlineData("{\"a\":1]", "expected ',' or '}'")]
    [InlineData("// comment\n{}", "where a value should start")]
    [InlineData("'single'", "where a value should start")]
    public void malformed_values_are_rejected_with_what_and_where(string json, string expected)
    {
        var bytes = Encoding.UTF8.GetBytes(json);

        Assert.False(JsonSyntax.IsOneValue(bytes, out var error));
        Assert.Contains(expected, error);
        Assert.Contains("at byte", error);
        Assert.False(ReaderAccepts(bytes));
    }

    [Fact]
    public void nesting_is_allowed_to_exactly_the_readers_limit()
    {
        for (var depth = JsonSyntax.MaxDepth - 1; depth <= JsonSyntax.MaxDepth + 1; depth++)
        {
            var arrays = Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth));
            var objects = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"k\":", depth - 1)) + "{}" + new string('}', depth - 1));

            Assert.Equal(ReaderAccepts(arrays), JsonSyntax.IsOneValue(arrays, out _));
            Assert.Equal(ReaderAccepts(objects), JsonSyntax.IsOneValue(objects, out _));
            Assert.Equal(depth <= JsonSyntax.MaxDepth, JsonSyntax.IsOneValue(arrays, out _));
        }
    }

    /// <summary>
    /// String contents are skipped with a vectorized search: a quote, an escape or a control character is found at every
    /// position, in strings shorter and longer than a vector.
    /// </summary>
    [Fact]
    public void a_special_byte_is_found_at_every_position_of_short_and_long_strings()
    {
        string[] specials = ["\"", "\\n", "\\u00e9", "\\x", "\u0001", "\t"];
        var checkedCases = 0;
        for (var length = 0; length <= 40; length++)
        {
            for (var at = 0; at <= length; at++)
            {
                foreach (var special in specials)
                {
                    var json = "{\"k\":\"" + new string('a', at) + special + new string('b', length - at) + "\"}";
                    var bytes = Encoding.UTF8.GetBytes(json);
                    var expected = ReaderAccepts(bytes);
                    Assert.True(expected == JsonSyntax.IsOneValue(bytes, out var error), $"reader says {expected}, validator says {!expected} ({error}) for: {json}");
                    checkedCases++;
                }
            }
        }

        Assert.Equal(6 * (41 * 42 / 2), checkedCases);
    }

    [Fact]
    public void the_verdict_matches_the_system_text_json_reader_on_generated_and_mutated_documents()
    {
        var random = new Random(20261123);
        int accepted = 0, rejected = 0;
        for (var n = 0; n < 40_000; n++)
        {
            var builder = new StringBuilder();
            WriteValue(builder, random, depth: 0);
            var bytes = Encoding.UTF8.GetBytes(builder.ToString());
            if (n % 2 == 1)
            {
                bytes = Mutate(bytes, random);
            }

            if (!Utf8.IsValid(bytes))
            {
                continue; // the parser rejects invalid UTF-8 before validating JSON
            }

            var expected = ReaderAccepts(bytes);
            var actual = JsonSyntax.IsOneValue(bytes, out var error);
            Assert.True(expected == actual, $"reader says {expected}, validator says {actual} ({error}) for: {Encoding.UTF8.GetString(bytes)}");
            if (actual)
            {
                accepted++;
            }
            else
            {
                rejected++;
            }
        }

        // Both verdicts were exercised in quantity: the comparison is not one-sided.
        Assert.True(accepted > 10_000, $"accepted {accepted}");
        Assert.True(rejected > 5_000, $"rejected {rejected}");
    }

    private static bool ReaderAccepts(byte[] bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = JsonSyntax.MaxDepth });
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static readonly string[] Numbers = ["0", "-0", "7", "-12", "3.25", "1e9", "2E-3", "-4.5e+07", "123456789012345678901234567890", "0.0001"];
    private static readonly string[] Escapes = ["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\uD83D\\uDE00", "\\u0000", "\\uFFFF", "\\uD800", "\\uDC00x"];
    private static readonly string[] Whitespace = ["", "", "", " ", "\t", "\r\n", "  "];

    internal static void WriteValue(StringBuilder s, Random random, int depth)
    {
        s.Append(Whitespace[random.Next(Whitespace.Length)]);
        var kind = depth > 6 ? random.Next(4) : random.Next(7);
        switch (kind)
        {
            case 0:
                s.Append(Numbers[random.Next(Numbers.Length)]);
                break;
            case 1:
                WriteString(s, random);
                break;
            case 2:
                s.Append(random.Next(3) switch { 0 => "true", 1 => "false", _ => "null" });
                break;
            case 3:
                s.Append(random.Next(2) == 0 ? "{}" : "[]");
                break;
            case 4 or 5:
                s.Append('{');
                for (int i = 0, count = random.Next(1, 5); i < count; i++)
                {
                    if (i > 0)
                    {
                        s.Append(',');
                    }

                    s.Append(Whitespace[random.Next(Whitespace.Length)]);
                    WriteString(s, random);
                    s.Append(Whitespace[random.Next(Whitespace.Length)]).Append(':');
                    WriteValue(s, random, depth + 1);
                }

                s.Append('}');
                break;
            default:
                s.Append('[');
                for (int i = 0, count = random.Next(1, 5); i < count; i++)
                {
                    if (i > 0)
                    {
                        s.Append(',');
                    }

                    WriteValue(s, random, depth + 1);
                }

                s.Append(']');
                break;
        }

        s.Append(Whitespace[random.Next(Whitespace.Length)]);
    }

    private static void WriteString(StringBuilder s, Random random)
    {
        s.Append('"');
        for (int i = 0, count = random.Next(0, 12); i < count; i++)
        {
            switch (random.Next(10))
            {
                case 0:
                    s.Append(Escapes[random.Next(Escapes.Length)]);
                    break;
                case 1:
                    s.Append("é中😀"[random.Next(2)]);
                    break;
                default:
                    s.Append((char)random.Next('a', 'z' + 1));
                    break;
            }
        }

        s.Append('"');
    }

    // Bytes chosen to hit JSON's grammar: structure, number parts, escapes, literals, controls.
    private static readonly byte[] Interesting = "{}[],:\"\\/ \t\r\n0123456789-+.eEtrufalsn\u0001xu'"u8.ToArray();

    internal static byte[] Mutate(byte[] bytes, Random random)
    {
        var list = new List<byte>(bytes);
        for (int m = 0, count = random.Next(1, 3); m < count; m++)
        {
            var at = list.Count == 0 ? 0 : random.Next(list.Count);
            switch (random.Next(4))
            {
                case 0 when list.Count > 0:
                    list.RemoveAt(at);
                    break;
                case 1:
                    list.Insert(at, Interesting[random.Next(Interesting.Length)]);
                    break;
                case 2 when list.Count > 0:
                    list[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                default:
                    list.RemoveRange(at, list.Count - at);
                    break;
            }
        }

        return [.. list];
    }
}
