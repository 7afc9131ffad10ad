using System.Globalization;

namespace MlGrid.Tracking;

/// <summary>
/// One comparison of a parsed filter, such as <c>metrics.rmse &lt; 1</c>. The key is canonical (<c>start_time</c> for
/// <c>created</c>). A value the target does not have never matches, whatever the comparator: MLflow's SQL store joins
/// on the key, so <c>params.x != 'a'</c> leaves out runs without the param.
/// </summary>
public sealed class SearchClause
{
    private readonly LikePattern? _pattern;
    private readonly HashSet<string>? _set;

    internal SearchClause(SearchEntity entity, string key, SearchComparator comparator, double? numericValue, string? stringValue, IReadOnlyList<string> stringValues)
    {
        Entity = entity;
        Key = key;
        Comparator = comparator;
        NumericValue = numericValue;
        StringValue = stringValue;
        StringValues = stringValues;
        if (comparator is SearchComparator.Like or SearchComparator.ILike && stringValue is not null)
        {
            _pattern = LikePattern.Compile(stringValue, comparator == SearchComparator.ILike);
        }

        if (comparator is SearchComparator.In or SearchComparator.NotIn)
        {
            _set = new HashSet<string>(stringValues, StringComparer.Ordinal);
        }
    }

    /// <summary>What the identifier names.</summary>
    public SearchEntity Entity { get; }

    /// <summary>The canonical key: the metric, param or tag name, the attribute, or the dataset field.</summary>
    public string Key { get; }

    /// <summary>The comparator.</summary>
    public SearchComparator Comparator { get; }

    /// <summary>Whether the clause compares numbers (metrics, numeric attributes).</summary>
    public bool IsNumeric => NumericValue is not null;

    /// <summary>The number compared against, for numeric clauses.</summary>
    public double? NumericValue { get; }

    /// <summary>The string or pattern compared against, for <c>=, !=, LIKE, ILIKE</c> on strings.</summary>
    public string? StringValue { get; }

    /// <summary>The list of an <c>IN</c> or <c>NOT IN</c> clause; empty otherwise.</summary>
    public IReadOnlyList<string> StringValues { get; }

    /// <summary>Whether the target satisfies this comparison.</summary>
    public bool Matches(ISearchTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (Entity == SearchEntity.Dataset)
        {
            // A run matches when any one of its dataset inputs does.
            return target.Datasets.Any(d => MatchesText(Key switch
            {
                "name" => d.Name,
                "digest" => d.Digest,
                _ => d.Context,
            }));
        }

        return IsNumeric ? MatchesNumber(target.Number(Entity, Key)) : MatchesText(target.Text(Entity, Key));
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var prefix = Entity switch
        {
            SearchEntity.Metric => "metrics.",
            SearchEntity.Param => "params.",
            SearchEntity.Tag => "tags.",
            SearchEntity.Dataset => "datasets.",
            _ => "attributes.",
        };
        var value = IsNumeric
            ? NumericValue!.Value.ToString("R", CultureInfo.InvariantCulture)
            : _set is not null ? "(" + string.Join(", ", StringValues.Select(Quote)) + ")" : Quote(StringValue!);
        var key = Key.Length > 0 && Key.All(c => char.IsLetterOrDigit(c) || c == '_') ? Key : "`" + Key + "`";
        return $"{prefix}{key} {Symbol(Comparator)} {value}";
    }

    internal static string Symbol(SearchComparator comparator) => comparator switch
    {
        SearchComparator.Equal => "=",
        SearchComparator.NotEqual => "!=",
        SearchComparator.Less => "<",
        SearchComparator.LessOrEqual => "<=",
        SearchComparator.Greater => ">",
        SearchComparator.GreaterOrEqual => ">=",
        SearchComparator.Like => "LIKE",
        SearchComparator.ILike => "ILIKE",
        SearchComparator.In => "IN",
        _ => "NOT IN",
    };

    private bool MatchesNumber(double? value)
    {
        if (value is not { } actual)
        {
            return false;
        }

        var expected = NumericValue!.Value;
        return Comparator switch
        {
            SearchComparator.Equal => actual == expected,
            SearchComparator.NotEqual => actual != expected,
            SearchComparator.Less => actual < expected,
            SearchComparator.LessOrEqual => actual <= expected,
            SearchComparator.Greater => actual > expected,
            SearchComparator.GreaterOrEqual => actual >= expected,
            _ => false,
        };
    }

    private bool MatchesText(string? value)
    {
        if (value is null)
        {
            return false;
        }

        return Comparator switch
        {
            SearchComparator.Equal => string.Equals(value, StringValue, StringComparison.Ordinal),
            SearchComparator.NotEqual => !string.Equals(value, StringValue, StringComparison.Ordinal),
            SearchComparator.Like or SearchComparator.ILike => _pattern!.IsMatch(value),
            SearchComparator.In => _set!.Contains(value),
            SearchComparator.NotIn => !_set!.Contains(value),
            _ => false,
        };
    }

    private static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
