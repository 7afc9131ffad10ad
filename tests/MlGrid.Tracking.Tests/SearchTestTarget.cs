using MlGrid.Tracking;

namespace MlGrid.Tracking.Tests;

/// <summary>A run, experiment, model or version built fluently for tests; every value not set is missing.</summary>
internal sealed class SearchTestTarget(string id) : ISearchTarget
{
    private readonly Dictionary<(SearchEntity, string), double> _numbers = [];
    private readonly Dictionary<(SearchEntity, string), string> _texts = [];
    private readonly List<SearchDataset> _datasets = [];

    public string Id => id;

    public IEnumerable<SearchDataset> Datasets => _datasets;

    public double? Number(SearchEntity entity, string key) => _numbers.TryGetValue((entity, key), out var value) ? value : null;

    public string? Text(SearchEntity entity, string key) => _texts.TryGetValue((entity, key), out var value) ? value : null;

    public SearchTestTarget Metric(string key, double value) => Set(SearchEntity.Metric, key, value);

    public SearchTestTarget Param(string key, string value) => Set(SearchEntity.Param, key, value);

    public SearchTestTarget Tag(string key, string value) => Set(SearchEntity.Tag, key, value);

    public SearchTestTarget Attr(string key, string value) => Set(SearchEntity.Attribute, key, value);

    public SearchTestTarget Attr(string key, double value) => Set(SearchEntity.Attribute, key, value);

    public SearchTestTarget Dataset(string name, string digest, string? context = null)
    {
        _datasets.Add(new SearchDataset(name, digest, context));
        return this;
    }

    public override string ToString() => id;

    private SearchTestTarget Set(SearchEntity entity, string key, double value)
    {
        _numbers[(entity, key)] = value;
        return this;
    }

    private SearchTestTarget Set(SearchEntity entity, string key, string value)
    {
        _texts[(entity, key)] = value;
        return this;
    }
}

/// <summary>Shorthands for the tests.</summary>
internal static class Search
{
    public static bool Matches(string filter, ISearchTarget target, SearchKind kind = SearchKind.Runs) =>
        SearchFilter.Parse(filter, kind).Matches(target);

    public static string Refusal(string? filter, SearchKind kind = SearchKind.Runs) =>
        Assert.Throws<TrackingException>(() => SearchFilter.Parse(filter, kind)).Message;

    public static string OrderRefusal(SearchKind kind, params string[] orderBy) =>
        Assert.Throws<TrackingException>(() => SearchOrder.Parse(orderBy, kind)).Message;

    public static string[] Ids(IEnumerable<SearchTestTarget> targets) => [.. targets.Select(t => t.Id)];

    public static SearchClause Single(string filter, SearchKind kind = SearchKind.Runs) =>
        Assert.Single(SearchFilter.Parse(filter, kind).Clauses);
}
