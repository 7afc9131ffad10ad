namespace MlGrid.Tracking;

/// <summary>One page of search results.</summary>
/// <param name="Items">The page, in the search's order.</param>
/// <param name="NextPageToken">The token of the next page; null on the last page.</param>
public sealed record SearchPage<T>(IReadOnlyList<T> Items, string? NextPageToken);

/// <summary>
/// <c>max_results</c> and <c>page_token</c> of MLflow searches. Limits follow MLflow's server: runs and experiments
/// default to 1000 and allow 50,000; registered models default to 100 and allow 1000; model versions default to and
/// allow 200,000 (the REST default; the Python client asks for 10,000 a page).
/// </summary>
public static class SearchPaging
{
    /// <summary>The page size when a request gives no <c>max_results</c>.</summary>
    public static int DefaultMaxResults(SearchKind kind) => SearchSchema.For(kind).DefaultMaxResults;

    /// <summary>The largest <c>max_results</c> a request may ask for.</summary>
    public static int MaxResultsLimit(SearchKind kind) => SearchSchema.For(kind).MaxResultsLimit;

    /// <summary>The page size a request asks for: its <c>max_results</c>, or the default when it gives none.</summary>
    /// <exception cref="TrackingException"><c>max_results</c> is not positive or is over the kind's limit.</exception>
    public static int ValidateMaxResults(long? maxResults, SearchKind kind)
    {
        var schema = SearchSchema.For(kind);
        if (maxResults is not { } value)
        {
            return schema.DefaultMaxResults;
        }

        if (value < 1)
        {
            throw new TrackingException($"Invalid value {value} for parameter 'max_results' supplied. It must be a positive integer.");
        }

        if (value > schema.MaxResultsLimit)
        {
            throw new TrackingException(
                $"Invalid value {value} for parameter 'max_results' supplied. It must be at most {schema.MaxResultsLimit} for {schema.Noun} searches.");
        }

        return (int)value;
    }

    /// <summary>The page a token points at in results already filtered and sorted.</summary>
    /// <exception cref="TrackingException"><c>max_results</c> is out of range or the token is not one this server gave.</exception>
    public static SearchPage<T> Page<T>(IReadOnlyList<T> sorted, long? maxResults, string? pageToken, SearchKind kind)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var size = ValidateMaxResults(maxResults, kind);
        var offset = PageToken.Decode(pageToken);
        return Page(sorted, size, offset);
    }

    internal static SearchPage<T> Page<T>(IReadOnlyList<T> sorted, int size, int offset)
    {
        if (offset >= sorted.Count)
        {
            return new SearchPage<T>([], null);
        }

        var count = Math.Min(size, sorted.Count - offset);
        var items = new T[count];
        for (var i = 0; i < count; i++)
        {
            items[i] = sorted[offset + i];
        }

        var next = (long)offset + count < sorted.Count ? PageToken.Encode(offset + count) : null;
        return new SearchPage<T>(items, next);
    }
}
