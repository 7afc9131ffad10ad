using MlGrid.Tracking;

namespace MlGrid.Tracking.Tests;

public sealed class SearchOrderTests
{
    private static SearchTestTarget Run(string id, double start) => new SearchTestTarget(id).Attr("run_id", id).Attr("start_time", start);

    private static string[] Sorted(SearchKind kind, IEnumerable<SearchTestTarget> targets, params string[] orderBy) =>
        Search.Ids(SearchOrder.Parse(orderBy, kind).Sort(targets));

    [Fact]
    public void Runs_default_to_newest_first_then_run_id()
    {
        var runs = new[] { Run("b", 1), Run("c", 2), Run("a", 1), Run("d", 3) };

        Assert.Equal(["d", "c", "a", "b"], Sorted(SearchKind.Runs, runs));
        Assert.Equal(["d", "c", "a", "b"], Search.Ids(SearchOrder.Parse(null, SearchKind.Runs).Sort(runs)));
    }

    [Fact]
    public void Order_clauses_parse_directions_in_any_case()
    {
        var order = SearchOrder.Parse(["metrics.rmse", "params.alpha DESC", "tags.team asc", "status Desc"], SearchKind.Runs);

        Assert.Equal(
            [
                new SearchOrderClause(SearchEntity.Metric, "rmse", true, true),
                new SearchOrderClause(SearchEntity.Param, "alpha", false, false),
                new SearchOrderClause(SearchEntity.Tag, "team", true, false),
                new SearchOrderClause(SearchEntity.Attribute, "status", false, false),
                new SearchOrderClause(SearchEntity.Attribute, "start_time", false, true),
                new SearchOrderClause(SearchEntity.Attribute, "run_id", true, false),
            ],
            order.Clauses);
    }

    [Theory]
    [InlineData("metrics.`val loss` DESC", SearchEntity.Metric, "val loss", false)]
    [InlineData("metrics.\"val loss\"", SearchEntity.Metric, "val loss", true)]
    [InlineData("tags.`mlflow.user` desc", SearchEntity.Tag, "mlflow.user", false)]
    [InlineData("tags.mlflow.user", SearchEntity.Tag, "mlflow.user", true)]
    [InlineData("attributes.start_time ASC", SearchEntity.Attribute, "start_time", true)]
    [InlineData("created DESC", SearchEntity.Attribute, "start_time", false)]
    [InlineData("Created", SearchEntity.Attribute, "start_time", true)]
    [InlineData("  run_name   DESC  ", SearchEntity.Attribute, "run_name", false)]
    [InlineData("parameters.alpha", SearchEntity.Param, "alpha", true)]
    public void Order_keys_follow_the_filter_identifier_rules(string clause, SearchEntity entity, string key, bool ascending)
    {
        var first = SearchOrder.Parse([clause], SearchKind.Runs).Clauses[0];

        Assert.Equal((entity, key, ascending), (first.Entity, first.Key, first.Ascending));
    }

    [Fact]
    public void Metrics_sort_numerically_with_missing_last_in_both_directions()
    {
        var runs = new[]
        {
            Run("none", 1),
            Run("ten", 2).Metric("acc", 10),
            Run("nine", 3).Metric("acc", 9),
            Run("minus", 4).Metric("acc", -1),
        };

        Assert.Equal(["minus", "nine", "ten", "none"], Sorted(SearchKind.Runs, runs, "metrics.acc"));
        Assert.Equal(["ten", "nine", "minus", "none"], Sorted(SearchKind.Runs, runs, "metrics.acc DESC"));
    }

    [Fact]
    public void NaN_metrics_sort_after_numbers_and_before_missing_values()
    {
        var runs = new[] { Run("none", 3), Run("nan", 2).Metric("acc", double.NaN), Run("one", 1).Metric("acc", 1) };

        Assert.Equal(["one", "nan", "none"], Sorted(SearchKind.Runs, runs, "metrics.acc ASC"));
        Assert.Equal(["one", "nan", "none"], Sorted(SearchKind.Runs, runs, "metrics.acc DESC"));
    }

    [Fact]
    public void Params_and_tags_sort_ordinally_as_strings()
    {
        var runs = new[]
        {
            Run("ten", 1).Param("n", "10"),
            Run("nine", 1).Param("n", "9"),
            Run("upper", 1).Param("n", "B"),
            Run("lower", 1).Param("n", "a"),
            Run("none", 1),
        };

        Assert.Equal(["ten", "nine", "upper", "lower", "none"], Sorted(SearchKind.Runs, runs, "params.n"));
        Assert.Equal(["lower", "upper", "nine", "ten", "none"], Sorted(SearchKind.Runs, runs, "params.n DESC"));
    }

    [Fact]
    public void Ties_fall_through_to_the_next_clause_then_the_defaults()
    {
        var runs = new[]
        {
            Run("a", 1).Param("model", "lr").Metric("acc", 0.9),
            Run("b", 2).Param("model", "gbm").Metric("acc", 0.9),
            Run("c", 3).Param("model", "lr").Metric("acc", 0.8),
            Run("d", 3).Param("model", "lr").Metric("acc", 0.9),
            Run("e", 4).Param("model", "gbm").Metric("acc", 0.7),
        };

        Assert.Equal(["b", "e", "d", "a", "c"], Sorted(SearchKind.Runs, runs, "params.model", "metrics.acc DESC"));
        Assert.Equal(["d", "b", "a", "c", "e"], Sorted(SearchKind.Runs, runs, "metrics.acc DESC"));
    }

    [Fact]
    public void Ordering_by_start_time_replaces_the_default_start_time_tie_breaker()
    {
        var runs = new[] { Run("b", 2), Run("a", 2), Run("c", 1) };

        Assert.Equal(["c", "a", "b"], Sorted(SearchKind.Runs, runs, "attributes.start_time ASC"));
        Assert.Equal(["c", "a", "b"], Sorted(SearchKind.Runs, runs, "created"));
        Assert.Equal(["start_time", "run_id"], SearchOrder.Parse(["created"], SearchKind.Runs).Clauses.Select(c => c.Key));
    }

    [Fact]
    public void Run_id_order_is_not_repeated_as_a_tie_breaker()
    {
        var order = SearchOrder.Parse(["run_id DESC"], SearchKind.Runs);

        Assert.Equal(["run_id", "start_time"], order.Clauses.Select(c => c.Key));
    }

    [Fact]
    public void Experiments_default_to_newest_first_then_experiment_id_ascending()
    {
        var experiments = new[]
        {
            new SearchTestTarget("10").Attr("experiment_id", "10").Attr("creation_time", 5),
            new SearchTestTarget("9").Attr("experiment_id", "9").Attr("creation_time", 5),
            new SearchTestTarget("2").Attr("experiment_id", "2").Attr("creation_time", 7),
        };

        Assert.Equal(["2", "9", "10"], Sorted(SearchKind.Experiments, experiments));
    }

    [Fact]
    public void Experiment_ties_of_a_caller_order_break_by_experiment_id_descending_as_in_MLflow()
    {
        var experiments = new[]
        {
            new SearchTestTarget("1").Attr("experiment_id", "1").Attr("name", "same"),
            new SearchTestTarget("3").Attr("experiment_id", "3").Attr("name", "same"),
            new SearchTestTarget("2").Attr("experiment_id", "2").Attr("name", "other"),
        };

        Assert.Equal(["2", "3", "1"], Sorted(SearchKind.Experiments, experiments, "name"));
        Assert.Equal(["1", "2", "3"], Sorted(SearchKind.Experiments, experiments, "experiment_id"));
    }

    [Fact]
    public void Experiment_ids_sort_as_numbers_when_both_are_digits()
    {
        var experiments = new[] { "100", "9", "1a", "0", "abc", "10" }.Select(id => new SearchTestTarget(id).Attr("experiment_id", id)).ToList();

        Assert.Equal(["0", "9", "10", "100", "1a", "abc"], Sorted(SearchKind.Experiments, experiments, "experiment_id ASC"));
        Assert.Equal(["abc", "1a", "100", "10", "9", "0"], Sorted(SearchKind.Experiments, experiments, "experiment_id DESC"));
    }

    [Theory]
    [InlineData("name", "name")]
    [InlineData("creation_time DESC", "creation_time")]
    [InlineData("last_update_time", "last_update_time")]
    [InlineData("experiment_id", "experiment_id")]
    [InlineData("attributes.name", "name")]
    public void Experiments_order_by_their_attributes(string clause, string key) =>
        Assert.Equal(key, SearchOrder.Parse([clause], SearchKind.Experiments).Clauses[0].Key);

    [Fact]
    public void Registered_models_default_to_name_and_break_ties_by_name()
    {
        var models = new[]
        {
            new SearchTestTarget("b").Attr("name", "b").Attr("last_updated_timestamp", 1),
            new SearchTestTarget("a").Attr("name", "a").Attr("last_updated_timestamp", 1),
            new SearchTestTarget("c").Attr("name", "c").Attr("last_updated_timestamp", 2),
        };

        Assert.Equal(["a", "b", "c"], Sorted(SearchKind.RegisteredModels, models));
        Assert.Equal(["c", "a", "b"], Sorted(SearchKind.RegisteredModels, models, "timestamp DESC"));
        Assert.Equal(["c", "a", "b"], Sorted(SearchKind.RegisteredModels, models, "last_updated_timestamp DESC"));
        Assert.Equal(["c", "b", "a"], Sorted(SearchKind.RegisteredModels, models, "name DESC"));
    }

    [Fact]
    public void Model_versions_default_to_recently_updated_then_name_then_newest_version()
    {
        var versions = new[]
        {
            new SearchTestTarget("a/1").Attr("name", "a").Attr("version_number", 1).Attr("last_updated_timestamp", 5),
            new SearchTestTarget("a/2").Attr("name", "a").Attr("version_number", 2).Attr("last_updated_timestamp", 5),
            new SearchTestTarget("b/1").Attr("name", "b").Attr("version_number", 1).Attr("last_updated_timestamp", 5),
            new SearchTestTarget("b/10").Attr("name", "b").Attr("version_number", 10).Attr("last_updated_timestamp", 9),
        };

        Assert.Equal(["b/10", "a/2", "a/1", "b/1"], Sorted(SearchKind.ModelVersions, versions));
        Assert.Equal(["a/2", "a/1", "b/10", "b/1"], Sorted(SearchKind.ModelVersions, versions, "name"));
        Assert.Equal(["a/1", "b/1", "a/2", "b/10"], Sorted(SearchKind.ModelVersions, versions, "version_number"));
        Assert.Equal(["a/2", "a/1", "b/10", "b/1"], Sorted(SearchKind.ModelVersions, versions, "creation_timestamp DESC"));
    }

    [Fact]
    public void Default_orders_match_MLflow()
    {
        static string Describe(SearchKind kind) => SearchOrder.Parse([], kind).ToString();

        Assert.Equal("Attribute.start_time DESC, Attribute.run_id ASC", Describe(SearchKind.Runs));
        Assert.Equal("Attribute.creation_time DESC, Attribute.experiment_id ASC", Describe(SearchKind.Experiments));
        Assert.Equal("Attribute.name ASC", Describe(SearchKind.RegisteredModels));
        Assert.Equal("Attribute.last_updated_timestamp DESC, Attribute.name ASC, Attribute.version_number DESC", Describe(SearchKind.ModelVersions));
    }

    [Fact]
    public void The_order_is_a_comparer_of_targets()
    {
        IComparer<ISearchTarget> order = SearchOrder.Parse(["metrics.acc DESC"], SearchKind.Runs);
        var high = Run("high", 1).Metric("acc", 2);
        var low = Run("low", 1).Metric("acc", 1);
        var missing = Run("missing", 1);

        Assert.True(order.Compare(high, low) < 0);
        Assert.True(order.Compare(low, high) > 0);
        Assert.True(order.Compare(low, missing) < 0);
        Assert.Equal(0, order.Compare(high, high));
        Assert.True(order.Compare(high, null) < 0);
        var list = new List<ISearchTarget> { missing, low, high };
        list.Sort(order);
        Assert.Equal([high, low, missing], list);
    }

    [Fact]
    public void Sort_is_stable_for_full_ties_and_takes_a_selector()
    {
        var rows = Enumerable.Range(0, 50).Select(i => (Index: i, Target: Run("same", 1))).ToList();

        var sorted = SearchOrder.Parse(null, SearchKind.Runs).Sort(rows, r => r.Target);

        Assert.Equal(Enumerable.Range(0, 50), sorted.Select(r => r.Index));
    }

    [Theory]
    [InlineData(SearchKind.Runs, "metrics.acc", "metrics.acc DESC")]
    [InlineData(SearchKind.Runs, "created", "start_time DESC")]
    [InlineData(SearchKind.RegisteredModels, "timestamp", "last_updated_timestamp")]
    [InlineData(SearchKind.ModelVersions, "name", "attributes.name DESC")]
    public void Duplicate_fields_are_refused(SearchKind kind, string first, string second) =>
        Assert.Contains("already ordered by", Search.OrderRefusal(kind, first, second));

    [Fact]
    public void Experiments_accept_a_repeated_field_as_MLflow_does() =>
        Assert.Equal("name", SearchOrder.Parse(["name", "name DESC"], SearchKind.Experiments).Clauses[1].Key);

    [Theory]
    [InlineData(SearchKind.Runs, "metrics.acc UP", "expected ASC or DESC after 'metrics.acc', found 'UP'")]
    [InlineData(SearchKind.Runs, "metrics.val loss", "expected ASC or DESC after 'metrics.val', found 'loss'")]
    [InlineData(SearchKind.Runs, "metrics.acc DESC ASC", "unexpected 'ASC' after the direction")]
    [InlineData(SearchKind.Runs, "", "it is empty")]
    [InlineData(SearchKind.Runs, "   ", "it is empty")]
    [InlineData(SearchKind.Runs, "foo.bar", "invalid entity type 'foo'")]
    [InlineData(SearchKind.Runs, "datasets.name", "'datasets' is not available in")]
    [InlineData(SearchKind.Runs, "colour", "invalid attribute key 'colour'; run searches order by artifact_uri, end_time, run_id, run_name, start_time, status, user_id")]
    [InlineData(SearchKind.Runs, "metrics.`acc DESC", "backtick opened at character 9 is never closed")]
    [InlineData(SearchKind.Runs, "metrics.acc, params.a", "expected ASC or DESC")]
    [InlineData(SearchKind.Experiments, "tags.team", "'tags' is not available in")]
    [InlineData(SearchKind.Experiments, "status", "experiment searches order by creation_time, experiment_id, last_update_time, name")]
    [InlineData(SearchKind.RegisteredModels, "tags.owner", "'tags' is not available in")]
    [InlineData(SearchKind.RegisteredModels, "version_number", "registered model searches order by creation_timestamp, last_updated_timestamp, name")]
    [InlineData(SearchKind.ModelVersions, "run_id", "model version searches order by creation_timestamp, last_updated_timestamp, name, version_number")]
    [InlineData(SearchKind.ModelVersions, "metrics.acc", "'metrics' is not available in")]
    public void Bad_order_clauses_are_refused_with_the_clause_and_what_is_allowed(SearchKind kind, string clause, string problem)
    {
        var message = Search.OrderRefusal(kind, clause);

        Assert.Contains($"Invalid order_by clause '{clause}'", message);
        Assert.Contains(problem, message);
    }
}
