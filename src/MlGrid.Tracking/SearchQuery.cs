namespace MlGrid.Tracking;

/// <summary>
/// A whole MLflow search request checked up front: filter, order, page size and page token. Parsing refuses a bad
/// request before any data is read, in MLflow's order (page size, filter, order, token); <see cref="Apply{T}(IEnumerable{T})"/>
/// then filters, sorts and pages the candidates.
/// </summary>
public sealed class SearchQuery
{
    private SearchQuery(SearchFilter filter, SearchOrder order, int maxResults, int offset)
    {
        Filter = filter;
        Order = order;
        MaxResults = maxResults;
        Offset = offset;
    }

    /// <summary>The search.</summary>
    public SearchKind Kind => Filter.Kind;

    /// <summary>The parsed filter.</summary>
    public SearchFilter Filter { get; }

    /// <summary>The parsed order, tie-breakers included.</summary>
    public SearchOrder Order { get; }

    /// <summary>The page size.</summary>
    public int MaxResults { get; }

    /// <summary>Where the page starts in the sorted results.</summary>
    public int Offset { get; }

    /// <summary>Checks and parses a search request.</summary>
    /// <exception cref="TrackingException">Any part of the request breaks MLflow's rules.</exception>
    public static SearchQuery Parse(SearchKind kind, string? filter, IReadOnlyList<string>? orderBy, long? maxResults, string? pageToken)
    {
        var size = SearchPaging.ValidateMaxResults(maxResults, kind);
        var parsedFilter = SearchFilter.Parse(filter, kind);
        var order = SearchOrder.Parse(orderBy, kind);
        var offset = PageToken.Decode(pageToken);
        return new SearchQuery(parsedFilter, order, size, offset);
    }

    /// <summary>The requested page of the candidates that match, in order.</summary>
    public SearchPage<T> Apply<T>(IEnumerable<T> candidates)
        where T : ISearchTarget =>
        Apply(candidates, candidate => candidate);

    /// <summary>The requested page of the candidates that match, each seen through its search target, in order.</summary>
    public SearchPage<T> Apply<T>(IEnumerable<T> candidates, Func<T, ISearchTarget> target)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(target);
        var matching = Filter.IsEmpty ? candidates : candidates.Where(c => Filter.Matches(target(c)));
        return SearchPaging.Page(Order.Sort(matching, target), MaxResults, Offset);
    }
}
