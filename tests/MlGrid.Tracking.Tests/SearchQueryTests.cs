using MlGrid.Tracking;

namespace MlGrid.Tracking.Tests;

public sealed class SearchQueryTests
{
    private static readonly List<SearchTestTarget> Runs =
    [
        .. Enumerable.Range(1, 12).Select(i => new SearchTestTarget($"r{i:D2}")
            .Attr("run_id", $"r{i:D2}")
            .Attr("start_time", 100 + i)
            .Attr("status", i % 3 == 0 ? "FAILED" : "FINISHED")
            .Metric("acc", i % 5 / 10.0)),
    ];

    [Fact]
    public void A_query_filters_sorts_and_pages()
    {
        var first = SearchQuery.Parse(SearchKind.Runs, "attributes.status = 'FINISHED'", ["metrics.acc DESC"], 3, null);
        var page1 = first.Apply(Runs);
        var page2 = SearchQuery.Parse(SearchKind.Runs, "attributes.status = 'FINISHED'", ["metrics.acc DESC"], 3, page1.NextPageToken).Apply(Runs);
        var page3 = SearchQuery.Parse(SearchKind.Runs, "attributes.status = 'FINISHED'", ["metrics.acc DESC"], 3, page2.NextPageToken).Apply(Runs);

        // FINISHED: r01 .1, r02 .2, r04 .4, r05 0, r07 .2, r08 .3, r10 0, r11 .1; ties newest first.
        Assert.Equal(["r04", "r08", "r07"], Search.Ids(page1.Items));
        Assert.Equal(["r02", "r11", "r01"], Search.Ids(page2.Items));
        Assert.Equal(["r10", "r05"], Search.Ids(page3.Items));
        Assert.Null(page3.NextPageToken);
    }

    [Fact]
    public void An_empty_query_returns_the_default_order_and_page()
    {
        var query = SearchQuery.Parse(SearchKind.Runs, null, null, null, null);

        var page = query.Apply(Runs);

        Assert.Equal(1000, query.MaxResults);
        Assert.Equal(0, query.Offset);
        Assert.True(query.Filter.IsEmpty);
        Assert.Equal("r12", page.Items[0].Id);
        Assert.Equal(12, page.Items.Count);
        Assert.Null(page.NextPageToken);
    }

    [Fact]
    public void A_query_applies_through_a_selector()
    {
        var rows = Runs.Select(r => (Row: r.Id, Target: r)).ToList();

        var page = SearchQuery.Parse(SearchKind.Runs, "metrics.acc >= 0.4", ["run_id DESC"], 10, null).Apply(rows, r => r.Target);

        Assert.Equal(["r09", "r04"], page.Items.Select(r => r.Row));
    }

    [Fact]
    public void Max_results_is_checked_before_the_filter_as_in_MLflow()
    {
        var message = Assert.Throws<TrackingException>(() => SearchQuery.Parse(SearchKind.Runs, "bad filter", null, 0, null)).Message;

        Assert.Contains("max_results", message);
    }

    [Theory]
    [InlineData("metrics.acc >", null, null, "Invalid filter clause")]
    [InlineData(null, "metrics.acc SIDEWAYS", null, "Invalid order_by clause")]
    [InlineData(null, null, "garbage!", "page token")]
    public void Every_part_of_a_request_is_checked_before_any_data_is_read(string? filter, string? orderBy, string? token, string problem)
    {
        var message = Assert.Throws<TrackingException>(
            () => SearchQuery.Parse(SearchKind.Runs, filter, orderBy is null ? null : [orderBy], null, token)).Message;

        Assert.Contains(problem, message);
    }

    [Fact]
    public void Model_version_queries_use_their_defaults()
    {
        var versions = Enumerable.Range(1, 4).Select(v => new SearchTestTarget($"churn/{v}").Attr("name", "churn").Attr("version_number", v).Attr("last_updated_timestamp", 7)).ToList();

        var page = SearchQuery.Parse(SearchKind.ModelVersions, "name = 'churn' AND version_number >= 2", null, null, null).Apply(versions);

        Assert.Equal(["churn/4", "churn/3", "churn/2"], Search.Ids(page.Items));
    }
}
