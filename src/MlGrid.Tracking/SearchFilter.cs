using System.Globalization;

namespace MlGrid.Tracking;

/// <summary>
/// A parsed MLflow search filter: comparisons joined by <c>AND</c>, such as
/// <c>metrics.rmse &lt; 1 and params.model_class = 'LogisticRegression'</c>. An empty filter matches everything.
/// <c>OR</c> and parenthesised groups are refused, as MLflow refuses them.
/// </summary>
public sealed class SearchFilter
{
    private SearchFilter(SearchKind kind, string text, IReadOnlyList<SearchClause> clauses)
    {
        Kind = kind;
        Text = text;
        Clauses = clauses;
    }

    /// <summary>The search the filter was parsed for.</summary>
    public SearchKind Kind { get; }

    /// <summary>The filter as written.</summary>
    public string Text { get; }

    /// <summary>The comparisons, in the order written; all must hold.</summary>
    public IReadOnlyList<SearchClause> Clauses { get; }

    /// <summary>Whether the filter matches everything.</summary>
    public bool IsEmpty => Clauses.Count == 0;

    /// <summary>Parses a filter for one kind of search.</summary>
    /// <exception cref="TrackingException">The filter breaks MLflow's grammar or names something the search does not have.</exception>
    public static SearchFilter Parse(string? filter, SearchKind kind)
    {
        var schema = SearchSchema.For(kind);
        if (string.IsNullOrWhiteSpace(filter))
        {
            return new SearchFilter(kind, filter ?? "", []);
        }

        var clauseStart = 0;
        var cursor = new SearchCursor(filter, (problem, at) => new TrackingException($"Invalid filter clause '{ClauseText(filter, clauseStart, at)}': {problem}"));

        // Read the whole filter before judging any clause, so that a misplaced OR or parenthesis is named as such
        // rather than as whatever unknown key happens to come first.
        var written = new List<WrittenClause>();
        while (true)
        {
            cursor.SkipSpace();
            clauseStart = cursor.Position;
            if (cursor.AtEnd)
            {
                throw new TrackingException($"Invalid filter '{filter}': it ends with AND; write a comparison after it.");
            }

            if (cursor.Current is '(' or ')')
            {
                throw cursor.Fail("parentheses only enclose IN lists; MLflow filters do not group comparisons. Join comparisons with AND.");
            }

            written.Add(ReadClause(cursor, filter, clauseStart));
            if (cursor.AtEnd)
            {
                return new SearchFilter(kind, filter, [.. written.Select(w => Resolve(w, schema))]);
            }

            var joinAt = cursor.Position;
            var token = cursor.PeekToken();
            var join = cursor.ReadWord();
            if (string.Equals(join, "AND", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (string.Equals(join, "OR", StringComparison.OrdinalIgnoreCase))
            {
                throw new TrackingException($"Invalid filter '{filter}': OR is not supported; MLflow filters join comparisons with AND only.");
            }

            throw new TrackingException(
                $"Invalid filter '{filter}': unexpected '{token}' after the clause '{filter[clauseStart..joinAt].Trim()}'; join comparisons with AND.");
        }
    }

    /// <summary>Whether the target satisfies every comparison.</summary>
    public bool Matches(ISearchTarget target)
    {
        foreach (var clause in Clauses)
        {
            if (!clause.Matches(target))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => Text;

    private static WrittenClause ReadClause(SearchCursor cursor, string filter, int clauseStart)
    {
        var identifier = cursor.ReadIdentifier();
        var (comparator, written) = ReadComparator(cursor, identifier);
        var literal = cursor.ReadLiteral(written);
        return new WrittenClause(filter[clauseStart..cursor.Position].Trim(), identifier, comparator, written, literal);
    }

    private static SearchClause Resolve(WrittenClause source, SearchSchema schema)
    {
        var (clause, identifier, comparator, written, literal) = source;
        TrackingException Fail(string problem) => new($"Invalid filter clause '{clause}': {problem}");

        var field = schema.Resolve(identifier, forOrder: false, Fail);
        var what = Describe(field);
        var allowed = Comparators(field);
        if (!allowed.Contains(comparator))
        {
            var lists = schema.Attributes.Values.Where(a => a.ListComparators.Contains(comparator)).Select(a => a.Key).ToList();
            var hint = field.Attribute is not null && lists.Count > 0 ? $" Only {string.Join(", ", lists)} take{(lists.Count == 1 ? "s" : "")} {SearchClause.Symbol(comparator)}." : "";
            throw Fail($"invalid comparator '{written}' for {what}; it takes {string.Join(", ", allowed.Select(SearchClause.Symbol))}.{hint}");
        }

        var wantsList = comparator is SearchComparator.In or SearchComparator.NotIn;
        if (wantsList != (literal.Kind == SearchLiteralKind.List))
        {
            throw Fail(wantsList
                ? $"{written} needs a parenthesised list of quoted strings, e.g. {written} ('a', 'b')."
                : $"a parenthesised list only goes with IN or NOT IN, not '{written}'.");
        }

        if (wantsList)
        {
            return new SearchClause(field.Entity, field.Key, comparator, null, null, literal.Items);
        }

        if (field.IsNumeric)
        {
            if (literal.Kind == SearchLiteralKind.Number)
            {
                return new SearchClause(field.Entity, field.Key, comparator, literal.Number, null, []);
            }

            if (field.Attribute?.QuotedNumber == true && double.TryParse(literal.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var quoted))
            {
                return new SearchClause(field.Entity, field.Key, comparator, quoted, null, []);
            }

            throw Fail($"expected a numeric value for {what}, found {literal.Written}; write numbers without quotes.");
        }

        if (literal.Kind != SearchLiteralKind.String)
        {
            throw Fail($"expected a quoted string value for {what} (e.g. 'my-value'), found {literal.Written}.");
        }

        return new SearchClause(field.Entity, field.Key, comparator, null, literal.Text, []);
    }

    private static (SearchComparator Comparator, string Written) ReadComparator(SearchCursor cursor, SearchIdentifier identifier)
    {
        const string valid = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN";
        if (cursor.AtEnd)
        {
            throw cursor.Fail($"expected a comparator after '{identifier.Written}': {valid}.");
        }

        var start = cursor.Position;
        if (cursor.Current is '=' or '!' or '<' or '>')
        {
            var symbol = cursor.ReadOperator();
            return symbol switch
            {
                "=" => (SearchComparator.Equal, symbol),
                "!=" => (SearchComparator.NotEqual, symbol),
                "<" => (SearchComparator.Less, symbol),
                "<=" => (SearchComparator.LessOrEqual, symbol),
                ">" => (SearchComparator.Greater, symbol),
                ">=" => (SearchComparator.GreaterOrEqual, symbol),
                _ => throw cursor.Fail($"'{symbol}' is not a comparator; use {valid}.", start),
            };
        }

        var word = cursor.ReadWord();
        switch (word?.ToUpperInvariant())
        {
            case "LIKE":
                return (SearchComparator.Like, word);
            case "ILIKE":
                return (SearchComparator.ILike, word);
            case "IN":
                return (SearchComparator.In, word);
            case "NOT":
                var next = cursor.ReadWord();
                if (string.Equals(next, "IN", StringComparison.OrdinalIgnoreCase))
                {
                    return (SearchComparator.NotIn, $"{word} {next}");
                }

                throw cursor.Fail("expected IN after NOT; NOT only forms NOT IN.");
            default:
                throw cursor.Fail($"expected a comparator after '{identifier.Written}' ({valid}), found '{word ?? cursor.PeekToken()}'.", start);
        }
    }

    private static SearchComparator[] Comparators(SearchField field)
    {
        if (field.IsNumeric)
        {
            return [SearchComparator.Equal, SearchComparator.NotEqual, SearchComparator.Less, SearchComparator.LessOrEqual, SearchComparator.Greater, SearchComparator.GreaterOrEqual];
        }

        SearchComparator[] strings = [SearchComparator.Equal, SearchComparator.NotEqual, SearchComparator.Like, SearchComparator.ILike];
        return field.Entity switch
        {
            SearchEntity.Dataset => [.. strings, SearchComparator.In, SearchComparator.NotIn],
            SearchEntity.Attribute => [.. strings, .. field.Attribute!.ListComparators],
            _ => strings,
        };
    }

    private static string Describe(SearchField field) => field.Entity switch
    {
        SearchEntity.Metric => $"metric '{field.Key}'",
        SearchEntity.Param => $"param '{field.Key}'",
        SearchEntity.Tag => $"tag '{field.Key}'",
        SearchEntity.Dataset => $"dataset {field.Key}",
        _ => $"{(field.IsNumeric ? "numeric" : "string")} attribute '{field.Key}'",
    };

    /// <summary>One comparison as read, before it is checked against the kind's fields.</summary>
    private sealed record WrittenClause(string Text, SearchIdentifier Identifier, SearchComparator Comparator, string WrittenComparator, SearchLiteral Literal);

    /// <summary>The clause being read when a refusal happened: from its start through the token at the failure.</summary>
    private static string ClauseText(string filter, int start, int at)
    {
        var end = Math.Min(at, filter.Length);
        while (end < filter.Length && !char.IsWhiteSpace(filter[end]))
        {
            end++;
        }

        return filter[start..end].Trim();
    }
}
