using MlGrid.Tracking;

namespace MlGrid.Tracking.Tests;

public sealed class SearchPagingTests
{
    private static readonly string[] Letters = [.. "abcdefghij".Select(c => c.ToString())];

    [Fact]
    public void Pages_walk_the_results_until_the_token_runs_out()
    {
        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = SearchPaging.Page(Letters, 3, token, SearchKind.Runs);
            seen.AddRange(page.Items);
            token = page.NextPageToken;
            pages++;
        }
        while (token is not null);

        Assert.Equal(Letters, seen);
        Assert.Equal(4, pages);
    }

    [Fact]
    public void An_exact_fit_gives_no_next_token()
    {
        var first = SearchPaging.Page(Letters, 5, null, SearchKind.Runs);
        var second = SearchPaging.Page(Letters, 5, first.NextPageToken, SearchKind.Runs);

        Assert.Equal(["a", "b", "c", "d", "e"], first.Items);
        Assert.NotNull(first.NextPageToken);
        Assert.Equal(["f", "g", "h", "i", "j"], second.Items);
        Assert.Null(second.NextPageToken);
    }

    [Fact]
    public void A_page_larger_than_the_results_holds_them_all()
    {
        var page = SearchPaging.Page(Letters, 100, "", SearchKind.Runs);

        Assert.Equal(Letters, page.Items);
        Assert.Null(page.NextPageToken);
    }

    [Fact]
    public void No_results_give_an_empty_last_page()
    {
        var page = SearchPaging.Page(Array.Empty<string>(), null, null, SearchKind.Experiments);

        Assert.Empty(page.Items);
        Assert.Null(page.NextPageToken);
    }

    [Fact]
    public void A_token_past_the_end_gives_an_empty_last_page()
    {
        var page = SearchPaging.Page(Letters, 3, PageToken.Encode(50), SearchKind.Runs);

        Assert.Empty(page.Items);
        Assert.Null(page.NextPageToken);
    }

    [Fact]
    public void Next_token_points_at_the_next_offset() =>
        Assert.Equal(4, PageToken.Decode(SearchPaging.Page(Letters, 2, PageToken.Encode(2), SearchKind.Runs).NextPageToken));

    [Theory]
    [InlineData("not a token")]
    [InlineData("eyJvZmZzZXQiOiAxfQ==")]
    public void Foreign_tokens_are_refused(string token) =>
        Assert.Contains("page token", Assert.Throws<TrackingException>(() => SearchPaging.Page(Letters, 3, token, SearchKind.Runs)).Message);

    [Theory]
    [InlineData(SearchKind.Runs, 1000, 50_000)]
    [InlineData(SearchKind.Experiments, 1000, 50_000)]
    [InlineData(SearchKind.RegisteredModels, 100, 1000)]
    [InlineData(SearchKind.ModelVersions, 200_000, 200_000)]
    public void Each_kind_has_MLflow_limits(SearchKind kind, int defaultSize, int limit)
    {
        Assert.Equal(defaultSize, SearchPaging.DefaultMaxResults(kind));
        Assert.Equal(limit, SearchPaging.MaxResultsLimit(kind));
        Assert.Equal(defaultSize, SearchPaging.ValidateMaxResults(null, kind));
        Assert.Equal(limit, SearchPaging.ValidateMaxResults(limit, kind));
        Assert.Equal(1, SearchPaging.ValidateMaxResults(1, kind));
        var message = Assert.Throws<TrackingException>(() => SearchPaging.ValidateMaxResults(limit + 1L, kind)).Message;
        Assert.Contains($"Invalid value {limit + 1} for parameter 'max_results' supplied. It must be at most {limit}", message);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    public void Max_results_must_be_positive(long value)
    {
        foreach (var kind in Enum.GetValues<SearchKind>())
        {
            var message = Assert.Throws<TrackingException>(() => SearchPaging.ValidateMaxResults(value, kind)).Message;
            Assert.Contains($"Invalid value {value} for parameter 'max_results' supplied. It must be a positive integer", message);
        }
    }

    [Fact]
    public void Max_results_beyond_int_range_are_refused_not_truncated() =>
        Assert.Throws<TrackingException>(() => SearchPaging.ValidateMaxResults(long.MaxValue, SearchKind.Runs));

    [Fact]
    public void Registered_model_pages_default_to_100()
    {
        var names = Enumerable.Range(0, 250).Select(i => $"m{i:D3}").ToList();

        var first = SearchPaging.Page(names, null, null, SearchKind.RegisteredModels);
        var third = SearchPaging.Page(names, null, PageToken.Encode(200), SearchKind.RegisteredModels);

        Assert.Equal(100, first.Items.Count);
        Assert.Equal(50, third.Items.Count);
        Assert.Null(third.NextPageToken);
    }
}
