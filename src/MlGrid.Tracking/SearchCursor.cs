using System.Globalization;
using System.Text;

namespace MlGrid.Tracking;

/// <summary>An identifier as written: <c>metrics.rmse</c>, <c>tags."mlflow.user"</c>, <c>status</c>.</summary>
/// <param name="Prefix">The entity type before the dot, null when there is none.</param>
/// <param name="Key">The key, without its quotes.</param>
/// <param name="Written">The identifier as it appears in the request, for messages.</param>
internal sealed record SearchIdentifier(string? Prefix, string Key, string Written);

/// <summary>The right-hand side of a comparison as written.</summary>
internal sealed record SearchLiteral(SearchLiteralKind Kind, string Written, string? Text, double Number, IReadOnlyList<string> Items);

internal enum SearchLiteralKind
{
    String,
    Number,
    List,
}

/// <summary>
/// Reads the tokens of MLflow's filter and order-by grammar from one string. Whitespace separates tokens; keys may be
/// quoted with backticks or double quotes, strings with single or double quotes, and a quote character is written
/// inside its own quotes by doubling it. Every refusal goes through the caller's <c>fail</c>, which knows the context
/// (the clause, the order-by entry) the message should name.
/// </summary>
internal sealed class SearchCursor(string text, Func<string, int, TrackingException> fail)
{
    public string Text => text;

    public int Position { get; private set; }

    public bool AtEnd
    {
        get
        {
            SkipSpace();
            return Position >= text.Length;
        }
    }

    /// <summary>The current character; only valid when not <see cref="AtEnd"/>.</summary>
    public char Current => text[Position];

    public TrackingException Fail(string problem) => fail(problem, Position);

    public TrackingException Fail(string problem, int position) => fail(problem, position);

    public void SkipSpace()
    {
        while (Position < text.Length && char.IsWhiteSpace(text[Position]))
        {
            Position++;
        }
    }

    /// <summary>A word of letters, digits and underscores (a keyword such as AND, LIKE, DESC), or null when none starts here.</summary>
    public string? ReadWord()
    {
        SkipSpace();
        var start = Position;
        while (Position < text.Length && (char.IsLetterOrDigit(text[Position]) || text[Position] == '_'))
        {
            Position++;
        }

        return Position > start ? text[start..Position] : null;
    }

    /// <summary>A run of comparison symbols (<c>=</c>, <c>!=</c>, <c>&lt;=</c>…), possibly not a valid one.</summary>
    public string ReadOperator()
    {
        SkipSpace();
        var start = Position;
        while (Position < text.Length && text[Position] is '=' or '!' or '<' or '>')
        {
            Position++;
        }

        return text[start..Position];
    }

    /// <summary>The token starting here, up to the next space, for messages about something unexpected.</summary>
    public string PeekToken()
    {
        SkipSpace();
        var end = Position;
        while (end < text.Length && !char.IsWhiteSpace(text[end]))
        {
            end++;
        }

        return text[Position..end];
    }

    /// <summary>
    /// <c>key</c>, <c>prefix.key</c>, with either part quoted in backticks or double quotes. An unquoted key after the
    /// prefix runs on over letters, digits, <c>_ . - /</c>, so <c>tags.mlflow.user</c> names the tag <c>mlflow.user</c>.
    /// </summary>
    public SearchIdentifier ReadIdentifier()
    {
        SkipSpace();
        var start = Position;
        if (Position >= text.Length)
        {
            throw Fail("expected an identifier such as metrics.<key>, params.<key>, tags.<key> or an attribute.");
        }

        var (first, firstQuoted) = ReadIdentifierPart(IsNameChar);
        if (first.Length == 0 && !firstQuoted)
        {
            throw Fail($"expected an identifier such as metrics.<key>, params.<key>, tags.<key> or an attribute, found '{PeekToken()}'.");
        }

        if (Position < text.Length && text[Position] == '.')
        {
            Position++;
            if (Position >= text.Length || char.IsWhiteSpace(text[Position]))
            {
                throw Fail($"'{text[start..Position]}' has no key after the dot.");
            }

            var (key, _) = ReadIdentifierPart(IsKeyChar);
            if (key.Length == 0)
            {
                throw Fail($"'{text[start..Position]}' has no key after the dot.");
            }

            return new SearchIdentifier(first, key, text[start..Position]);
        }

        return new SearchIdentifier(null, first, text[start..Position]);
    }

    /// <summary>A quoted string, a number, or a parenthesised list of quoted strings.</summary>
    public SearchLiteral ReadLiteral(string after)
    {
        SkipSpace();
        if (Position >= text.Length)
        {
            throw Fail($"expected a value after '{after}'.");
        }

        var start = Position;
        var c = text[Position];
        if (c is '\'' or '"')
        {
            var value = ReadQuoted();
            return new SearchLiteral(SearchLiteralKind.String, text[start..Position], value, double.NaN, []);
        }

        if (c == '(')
        {
            var items = ReadList();
            return new SearchLiteral(SearchLiteralKind.List, text[start..Position], null, double.NaN, items);
        }

        if (char.IsAsciiDigit(c) || c is '.' or '-' or '+')
        {
            var number = ReadNumber();
            return new SearchLiteral(SearchLiteralKind.Number, text[start..Position], null, number, []);
        }

        throw Fail($"expected a quoted string or a number after '{after}', found '{PeekToken()}'; quote strings, e.g. 'FINISHED'.");
    }

    private (string Value, bool Quoted) ReadIdentifierPart(Func<char, bool> bare)
    {
        if (text[Position] is '`' or '"')
        {
            return (ReadQuoted(), true);
        }

        var start = Position;
        while (Position < text.Length && bare(text[Position]))
        {
            Position++;
        }

        return (text[start..Position], false);
    }

    private string ReadQuoted()
    {
        var quote = text[Position];
        var start = Position;
        Position++;
        var value = new StringBuilder();
        while (Position < text.Length)
        {
            var c = text[Position++];
            if (c != quote)
            {
                value.Append(c);
            }
            else if (Position < text.Length && text[Position] == quote)
            {
                value.Append(quote);
                Position++;
            }
            else
            {
                return value.ToString();
            }
        }

        throw fail($"the {QuoteName(quote)} opened at character {start + 1} is never closed.", text.Length);
    }

    private List<string> ReadList()
    {
        var open = Position;
        Position++;
        var items = new List<string>();
        while (true)
        {
            SkipSpace();
            if (Position >= text.Length)
            {
                throw fail($"the list opened at character {open + 1} has no closing ')'.", text.Length);
            }

            var c = text[Position];
            if (c == ')' && items.Count == 0)
            {
                throw Fail("the list is empty; IN and NOT IN need at least one quoted string.");
            }

            if (c is not ('\'' or '"'))
            {
                throw Fail($"list items must be quoted strings, found '{PeekToken()}'.");
            }

            items.Add(ReadQuoted());
            SkipSpace();
            if (Position >= text.Length)
            {
                throw fail($"the list opened at character {open + 1} has no closing ')'.", text.Length);
            }

            if (text[Position] == ',')
            {
                Position++;
                continue;
            }

            if (text[Position] == ')')
            {
                Position++;
                return items;
            }

            throw Fail($"expected ',' or ')' in the list, found '{PeekToken()}'.");
        }
    }

    private double ReadNumber()
    {
        var start = Position;
        if (text[Position] is '-' or '+')
        {
            Position++;
        }

        var digits = SkipDigits();
        if (Position < text.Length && text[Position] == '.')
        {
            Position++;
            digits += SkipDigits();
        }

        if (digits > 0 && Position < text.Length && text[Position] is 'e' or 'E')
        {
            var mark = Position;
            Position++;
            if (Position < text.Length && text[Position] is '-' or '+')
            {
                Position++;
            }

            if (SkipDigits() == 0)
            {
                Position = mark;
            }
        }

        if (digits == 0 || Position < text.Length && (IsKeyChar(text[Position]) || text[Position] is '\'' or '"' or '`'))
        {
            Position = start;
            throw Fail($"'{PeekToken()}' is not a number; write numbers like 1, -0.5 or 1e-3 and quote strings.");
        }

        return double.Parse(text.AsSpan(start, Position - start), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private int SkipDigits()
    {
        var start = Position;
        while (Position < text.Length && char.IsAsciiDigit(text[Position]))
        {
            Position++;
        }

        return Position - start;
    }

    private static bool IsNameChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    private static bool IsKeyChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '.' or '-' or '/';

    private static string QuoteName(char quote) => quote switch
    {
        '\'' => "single quote",
        '"' => "double quote",
        _ => "backtick",
    };
}
