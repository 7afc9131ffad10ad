namespace MlGrid.Tracking;

/// <summary>One built-in field of a searched entity and what filters and order-by clauses may do with it.</summary>
/// <param name="Key">The canonical key the <see cref="ISearchTarget"/> is asked for.</param>
/// <param name="IsNumeric">Compared as a number (timestamps, version numbers) rather than as a string.</param>
/// <param name="Filterable">Allowed in a filter.</param>
/// <param name="Orderable">Allowed in an order-by clause.</param>
/// <param name="ListComparators">The list comparators (<c>IN</c>, <c>NOT IN</c>) it takes besides the string ones.</param>
/// <param name="NumericText">A string that sorts as an integer when both sides are digits (experiment ids).</param>
/// <param name="QuotedNumber">Also takes a number written as a quoted string, as MLflow does for <c>version_number</c>.</param>
internal sealed record SearchAttribute(
    string Key,
    bool IsNumeric,
    bool Filterable,
    bool Orderable,
    SearchComparator[] ListComparators,
    bool NumericText = false,
    bool QuotedNumber = false);

/// <summary>An identifier resolved against a kind: what the target is asked for, and how.</summary>
internal sealed record SearchField(SearchEntity Entity, string Key, bool IsNumeric, SearchAttribute? Attribute);

/// <summary>
/// What each MLflow search accepts: entity prefixes, attributes and their aliases, default order and tie-breakers, page
/// sizes. The tables follow MLflow's search utilities and SQL stores; where MLflow's stores disagree the SQL store wins.
/// </summary>
internal sealed class SearchSchema
{
    private static readonly SearchComparator[] NoLists = [];

    private static readonly Dictionary<string, SearchEntity> Prefixes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["metric"] = SearchEntity.Metric,
        ["metrics"] = SearchEntity.Metric,
        ["param"] = SearchEntity.Param,
        ["params"] = SearchEntity.Param,
        ["parameter"] = SearchEntity.Param,
        ["parameters"] = SearchEntity.Param,
        ["tag"] = SearchEntity.Tag,
        ["tags"] = SearchEntity.Tag,
        ["attribute"] = SearchEntity.Attribute,
        ["attributes"] = SearchEntity.Attribute,
        ["attr"] = SearchEntity.Attribute,
        ["dataset"] = SearchEntity.Dataset,
        ["datasets"] = SearchEntity.Dataset,
    };

    /// <summary>The keys of a dataset input that <c>datasets.*</c> filters compare.</summary>
    internal static readonly string[] DatasetKeys = ["name", "digest", "context"];

    private static readonly SearchSchema Runs = new()
    {
        Kind = SearchKind.Runs,
        Noun = "run",
        Attributes = Table(
            new SearchAttribute("run_id", false, true, true, [SearchComparator.In, SearchComparator.NotIn]),
            new SearchAttribute("run_name", false, true, true, NoLists),
            new SearchAttribute("status", false, true, true, NoLists),
            new SearchAttribute("user_id", false, true, true, NoLists),
            new SearchAttribute("artifact_uri", false, true, true, NoLists),
            new SearchAttribute("start_time", true, true, true, NoLists),
            new SearchAttribute("end_time", true, true, true, NoLists)),
        Aliases = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["created"] = "start_time",
            ["Created"] = "start_time",
            ["run name"] = "run_name",
            ["Run name"] = "run_name",
            ["Run Name"] = "run_name",
        },
        FilterEntities = [SearchEntity.Attribute, SearchEntity.Metric, SearchEntity.Param, SearchEntity.Tag, SearchEntity.Dataset],
        OrderEntities = [SearchEntity.Attribute, SearchEntity.Metric, SearchEntity.Param, SearchEntity.Tag],
        FilterExample = "metrics.rmse < 1 AND params.model = 'LogisticRegression'",
        OrderExample = "metrics.rmse DESC",
        DefaultMaxResults = 1000,
        MaxResultsLimit = 50_000,
        RefusesDuplicateOrder = true,
    };

    private static readonly SearchSchema Experiments = new()
    {
        Kind = SearchKind.Experiments,
        Noun = "experiment",
        Attributes = Table(
            new SearchAttribute("name", false, true, true, NoLists),
            new SearchAttribute("creation_time", true, true, true, NoLists),
            new SearchAttribute("last_update_time", true, true, true, NoLists),
            new SearchAttribute("experiment_id", false, false, true, NoLists, NumericText: true)),
        Aliases = new Dictionary<string, string>(StringComparer.Ordinal),
        FilterEntities = [SearchEntity.Attribute, SearchEntity.Tag],
        OrderEntities = [SearchEntity.Attribute],
        FilterExample = "name LIKE 'prod%' AND tags.team = 'ml'",
        OrderExample = "last_update_time DESC",
        DefaultMaxResults = 1000,
        MaxResultsLimit = 50_000,
        RefusesDuplicateOrder = false,
    };

    private static readonly SearchSchema RegisteredModels = new()
    {
        Kind = SearchKind.RegisteredModels,
        Noun = "registered model",
        Attributes = Table(
            new SearchAttribute("name", false, true, true, NoLists),
            new SearchAttribute("last_updated_timestamp", true, false, true, NoLists),
            new SearchAttribute("creation_timestamp", true, false, true, NoLists)),
        Aliases = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["timestamp"] = "last_updated_timestamp",
        },
        FilterEntities = [SearchEntity.Attribute, SearchEntity.Tag],
        OrderEntities = [SearchEntity.Attribute],
        FilterExample = "name LIKE 'prod%'",
        OrderExample = "last_updated_timestamp DESC",
        DefaultMaxResults = 100,
        MaxResultsLimit = 1000,
        RefusesDuplicateOrder = true,
    };

    private static readonly SearchSchema ModelVersions = new()
    {
        Kind = SearchKind.ModelVersions,
        Noun = "model version",
        Attributes = Table(
            new SearchAttribute("name", false, true, true, NoLists),
            new SearchAttribute("run_id", false, true, false, [SearchComparator.In]),
            new SearchAttribute("source_path", false, true, false, NoLists),
            new SearchAttribute("version_number", true, true, true, NoLists, QuotedNumber: true),
            new SearchAttribute("creation_timestamp", true, false, true, NoLists),
            new SearchAttribute("last_updated_timestamp", true, false, true, NoLists)),
        Aliases = new Dictionary<string, string>(StringComparer.Ordinal),
        FilterEntities = [SearchEntity.Attribute, SearchEntity.Tag],
        OrderEntities = [SearchEntity.Attribute],
        FilterExample = "name = 'churn' AND version_number > 2",
        OrderExample = "version_number DESC",
        DefaultMaxResults = 200_000,
        MaxResultsLimit = 200_000,
        RefusesDuplicateOrder = true,
    };

    public required SearchKind Kind { get; init; }

    /// <summary>The entity in messages: "run", "experiment"…</summary>
    public required string Noun { get; init; }

    public required IReadOnlyDictionary<string, SearchAttribute> Attributes { get; init; }

    /// <summary>Other spellings MLflow accepts for an attribute, mapped to its canonical key.</summary>
    public required IReadOnlyDictionary<string, string> Aliases { get; init; }

    public required HashSet<SearchEntity> FilterEntities { get; init; }

    public required HashSet<SearchEntity> OrderEntities { get; init; }

    public required string FilterExample { get; init; }

    public required string OrderExample { get; init; }

    public required int DefaultMaxResults { get; init; }

    public required int MaxResultsLimit { get; init; }

    /// <summary>MLflow's SQL store refuses an order-by list naming one field twice for every search but experiments.</summary>
    public required bool RefusesDuplicateOrder { get; init; }

    public static SearchSchema For(SearchKind kind) => kind switch
    {
        SearchKind.Runs => Runs,
        SearchKind.Experiments => Experiments,
        SearchKind.RegisteredModels => RegisteredModels,
        SearchKind.ModelVersions => ModelVersions,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown search kind."),
    };

    /// <summary>Resolves a written identifier to what the target is asked for, or explains why it is refused.</summary>
    public SearchField Resolve(SearchIdentifier identifier, bool forOrder, Func<string, TrackingException> fail)
    {
        var entity = ResolveEntity(identifier, forOrder, fail);
        var key = identifier.Key;
        switch (entity)
        {
            case SearchEntity.Metric:
                return new SearchField(entity, key, true, null);

            case SearchEntity.Param or SearchEntity.Tag:
                return new SearchField(entity, key, false, null);

            case SearchEntity.Dataset:
                if (!DatasetKeys.Contains(key, StringComparer.Ordinal))
                {
                    throw fail($"invalid dataset key '{key}'; valid keys are {string.Join(", ", DatasetKeys)}.");
                }

                return new SearchField(entity, key, false, null);

            default:
                var canonical = Aliases.TryGetValue(key, out var aliased) ? aliased : key;
                if (!Attributes.TryGetValue(canonical, out var attribute) || !(forOrder ? attribute.Orderable : attribute.Filterable))
                {
                    var valid = Attributes.Values.Where(a => forOrder ? a.Orderable : a.Filterable).Select(a => a.Key).Order(StringComparer.Ordinal);
                    var use = forOrder ? "order by" : "filter on";
                    throw fail($"invalid attribute key '{key}'; {Noun} searches {use} {string.Join(", ", valid)}.");
                }

                return new SearchField(entity, attribute.Key, attribute.IsNumeric, attribute);
        }
    }

    private SearchEntity ResolveEntity(SearchIdentifier identifier, bool forOrder, Func<string, TrackingException> fail)
    {
        if (identifier.Prefix is null)
        {
            return SearchEntity.Attribute;
        }

        var allowed = forOrder ? OrderEntities : FilterEntities;
        SearchEntity entity;
        if (Kind == SearchKind.Runs && string.Equals(identifier.Prefix, "run", StringComparison.OrdinalIgnoreCase))
        {
            entity = SearchEntity.Attribute;
        }
        else if (!Prefixes.TryGetValue(identifier.Prefix, out entity) || !allowed.Contains(entity))
        {
            var example = forOrder ? OrderExample : FilterExample;
            var use = forOrder ? "order by" : "filter on";
            throw fail(Prefixes.ContainsKey(identifier.Prefix)
                ? $"'{identifier.Prefix}' is not available in {Noun} searches, which {use} {Describe(allowed)}; e.g. {example}."
                : $"invalid entity type '{identifier.Prefix}'; {Noun} searches {use} {Describe(allowed)}; e.g. {example}.");
        }

        return entity;
    }

    private static string Describe(HashSet<SearchEntity> entities)
    {
        var names = new[]
        {
            (SearchEntity.Metric, "metrics.<key>"),
            (SearchEntity.Param, "params.<key>"),
            (SearchEntity.Tag, "tags.<key>"),
            (SearchEntity.Dataset, "datasets.<name|digest|context>"),
            (SearchEntity.Attribute, "attributes (the 'attributes.' prefix is optional)"),
        };
        var listed = names.Where(n => entities.Contains(n.Item1)).Select(n => n.Item2).ToList();
        return listed.Count == 1 ? listed[0] : string.Join(", ", listed.Take(listed.Count - 1)) + " and " + listed[^1];
    }

    private static Dictionary<string, SearchAttribute> Table(params SearchAttribute[] attributes) =>
        attributes.ToDictionary(a => a.Key, StringComparer.Ordinal);
}
