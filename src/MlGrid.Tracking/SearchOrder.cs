namespace MlGrid.Tracking;

/// <summary>One key of a search's order.</summary>
/// <param name="Entity">What the key names.</param>
/// <param name="Key">The canonical key.</param>
/// <param name="Ascending">Smallest first; missing values come last either way.</param>
/// <param name="IsNumeric">Compared as numbers (metrics, numeric attributes) rather than ordinally as strings.</param>
public sealed record SearchOrderClause(SearchEntity Entity, string Key, bool Ascending, bool IsNumeric)
{
    /// <summary>A string that sorts as an integer when both sides are digits (experiment ids).</summary>
    internal bool NumericText { get; init; }
}

/// <summary>
/// The order of a search: the caller's <c>order_by</c> clauses (<c>identifier [ASC|DESC]</c>), then MLflow's
/// tie-breakers for the kind, or its default order when the caller gave none. Runs: <c>start_time DESC</c>, then
/// <c>run_id ASC</c>. Experiments: <c>creation_time DESC, experiment_id ASC</c> by default, ties of the caller's order
/// broken by <c>experiment_id DESC</c> as MLflow does. Registered models: ties broken by <c>name ASC</c>. Model versions:
/// <c>last_updated_timestamp DESC</c> by default, ties broken by <c>name ASC</c>, then <c>version_number DESC</c>.
/// Missing values sort last in both directions; a NaN metric sorts after every number but before a missing one.
/// </summary>
public sealed class SearchOrder : IComparer<ISearchTarget>
{
    private SearchOrder(SearchKind kind, IReadOnlyList<SearchOrderClause> clauses)
    {
        Kind = kind;
        Clauses = clauses;
    }

    /// <summary>The search the order was parsed for.</summary>
    public SearchKind Kind { get; }

    /// <summary>Every key compared, the caller's first, then the tie-breakers.</summary>
    public IReadOnlyList<SearchOrderClause> Clauses { get; }

    /// <summary>Parses the <c>order_by</c> list of a search; null or empty gives the kind's default order.</summary>
    /// <exception cref="TrackingException">A clause does not parse, names a key the search cannot order by, or repeats one.</exception>
    public static SearchOrder Parse(IReadOnlyList<string>? orderBy, SearchKind kind)
    {
        var schema = SearchSchema.For(kind);
        var clauses = new List<SearchOrderClause>();
        foreach (var text in orderBy ?? [])
        {
            var clause = ParseClause(text ?? "", schema);
            if (schema.RefusesDuplicateOrder && clauses.Any(c => c.Entity == clause.Entity && c.Key == clause.Key))
            {
                throw new TrackingException($"Invalid order_by: '{text}' orders by a field already ordered by; each field may appear once in [{string.Join(", ", orderBy!)}].");
            }

            clauses.Add(clause);
        }

        var userGaveOrder = clauses.Count > 0;
        switch (kind)
        {
            case SearchKind.Runs:
                AddUnlessPresent(clauses, schema, "start_time", ascending: false);
                AddUnlessPresent(clauses, schema, "run_id", ascending: true);
                break;

            case SearchKind.Experiments:
                if (!userGaveOrder)
                {
                    AddUnlessPresent(clauses, schema, "creation_time", ascending: false);
                }

                AddUnlessPresent(clauses, schema, "experiment_id", ascending: !userGaveOrder);
                break;

            case SearchKind.RegisteredModels:
                AddUnlessPresent(clauses, schema, "name", ascending: true);
                break;

            case SearchKind.ModelVersions:
                if (!userGaveOrder)
                {
                    AddUnlessPresent(clauses, schema, "last_updated_timestamp", ascending: false);
                }

                AddUnlessPresent(clauses, schema, "name", ascending: true);
                AddUnlessPresent(clauses, schema, "version_number", ascending: false);
                break;
        }

        return new SearchOrder(kind, clauses);
    }

    /// <summary>Compares two targets by every clause in turn.</summary>
    public int Compare(ISearchTarget? x, ISearchTarget? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null || y is null)
        {
            return x is null ? 1 : -1;
        }

        foreach (var clause in Clauses)
        {
            var result = CompareValues(clause, Read(clause, x), Read(clause, y));
            if (result != 0)
            {
                return result;
            }
        }

        return 0;
    }

    /// <summary>The items in this order; items that compare equal keep their input order.</summary>
    public IReadOnlyList<T> Sort<T>(IEnumerable<T> items)
        where T : ISearchTarget =>
        Sort(items, item => item);

    /// <summary>The items in this order, each seen through its search target; items that compare equal keep their input order.</summary>
    public IReadOnlyList<T> Sort<T>(IEnumerable<T> items, Func<T, ISearchTarget> target)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(target);
        var array = items.ToArray();

        // Read every key once rather than once per comparison.
        var keys = new SortValue[array.Length][];
        for (var i = 0; i < array.Length; i++)
        {
            var t = target(array[i]);
            keys[i] = [.. Clauses.Select(c => Read(c, t))];
        }

        var indexes = Enumerable.Range(0, array.Length).ToArray();
        Array.Sort(indexes, (a, b) =>
        {
            for (var c = 0; c < Clauses.Count; c++)
            {
                var result = CompareValues(Clauses[c], keys[a][c], keys[b][c]);
                if (result != 0)
                {
                    return result;
                }
            }

            return a.CompareTo(b);
        });
        return [.. indexes.Select(i => array[i])];
    }

    /// <inheritdoc/>
    public override string ToString() =>
        string.Join(", ", Clauses.Select(c => $"{c.Entity}.{c.Key} {(c.Ascending ? "ASC" : "DESC")}"));

    private static SearchOrderClause ParseClause(string text, SearchSchema schema)
    {
        var cursor = new SearchCursor(text, (problem, _) => new TrackingException($"Invalid order_by clause '{text}': {problem}"));
        if (cursor.AtEnd)
        {
            throw cursor.Fail($"it is empty; write '<key> [ASC|DESC]', e.g. '{schema.OrderExample}'.");
        }

        var identifier = cursor.ReadIdentifier();
        var ascending = true;
        if (!cursor.AtEnd)
        {
            var token = cursor.PeekToken();
            var direction = cursor.ReadWord();
            if (string.Equals(direction, "DESC", StringComparison.OrdinalIgnoreCase))
            {
                ascending = false;
            }
            else if (!string.Equals(direction, "ASC", StringComparison.OrdinalIgnoreCase))
            {
                throw cursor.Fail($"expected ASC or DESC after '{identifier.Written}', found '{token}'; quote keys with spaces, e.g. metrics.`val loss` DESC.");
            }

            if (!cursor.AtEnd)
            {
                throw cursor.Fail($"unexpected '{cursor.PeekToken()}' after the direction; each order_by entry holds one key.");
            }
        }

        var field = schema.Resolve(identifier, forOrder: true, problem => cursor.Fail(problem));
        return new SearchOrderClause(field.Entity, field.Key, ascending, field.IsNumeric) { NumericText = field.Attribute?.NumericText == true };
    }

    private static void AddUnlessPresent(List<SearchOrderClause> clauses, SearchSchema schema, string key, bool ascending)
    {
        if (!clauses.Any(c => c.Entity == SearchEntity.Attribute && c.Key == key))
        {
            var attribute = schema.Attributes[key];
            clauses.Add(new SearchOrderClause(SearchEntity.Attribute, key, ascending, attribute.IsNumeric) { NumericText = attribute.NumericText });
        }
    }

    private static SortValue Read(SearchOrderClause clause, ISearchTarget target) =>
        clause.IsNumeric ? new SortValue(target.Number(clause.Entity, clause.Key), null) : new SortValue(null, target.Text(clause.Entity, clause.Key));

    private static int CompareValues(SearchOrderClause clause, SortValue x, SortValue y)
    {
        // Rank first: present values, then NaN, then missing, whatever the direction.
        var rankX = Rank(clause, x);
        var rankY = Rank(clause, y);
        if (rankX != rankY || rankX != 0)
        {
            return rankX.CompareTo(rankY);
        }

        var result = clause.IsNumeric
            ? x.Number!.Value.CompareTo(y.Number!.Value)
            : clause.NumericText ? CompareNumericText(x.Text!, y.Text!) : string.CompareOrdinal(x.Text, y.Text);
        return clause.Ascending ? result : -result;
    }

    private static int Rank(SearchOrderClause clause, SortValue value) =>
        clause.IsNumeric
            ? value.Number is not { } n ? 2 : double.IsNaN(n) ? 1 : 0
            : value.Text is null ? 2 : 0;

    /// <summary>Digit strings first, by value; then any other string, ordinally. A total order, whatever the mix.</summary>
    private static int CompareNumericText(string x, string y)
    {
        var xDigits = x.Length > 0 && x.All(char.IsAsciiDigit);
        var yDigits = y.Length > 0 && y.All(char.IsAsciiDigit);
        if (xDigits != yDigits)
        {
            return xDigits ? -1 : 1;
        }

        if (!xDigits)
        {
            return string.CompareOrdinal(x, y);
        }

        var a = x.TrimStart('0');
        var b = y.TrimStart('0');
        return a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);
    }

    private readonly record struct SortValue(double? Number, string? Text);
}
