using MlGrid.Tracking;

namespace MlGrid.Tracking.Tests;

public sealed class SearchFilterMatchTests
{
    private static readonly SearchTestTarget Logistic = new SearchTestTarget("logistic")
        .Metric("rmse", 0.8).Metric("val loss", 0.25).Metric("nan", double.NaN)
        .Param("model_class", "LogisticRegression").Param("learning rate", "0.1")
        .Tag("mlflow.user", "x").Tag("team", "ML-Core")
        .Attr("run_id", "a1b2").Attr("run_name", "brave-owl").Attr("status", "FINISHED").Attr("user_id", "ann")
        .Attr("artifact_uri", "s3://bucket/a1b2/artifacts").Attr("start_time", 1000).Attr("end_time", 2000)
        .Dataset("iris", "d1", "training").Dataset("iris-holdout", "d2", "eval").Dataset("raw", "d3");

    [Theory]
    [InlineData("metrics.rmse < 1 and params.model_class = 'LogisticRegression'", true)]
    [InlineData("metrics.rmse < 0.5 and params.model_class = 'LogisticRegression'", false)]
    [InlineData("attributes.status = 'FINISHED'", true)]
    [InlineData("attributes.status = 'FAILED'", false)]
    [InlineData("tags.\"mlflow.user\" = 'x'", true)]
    [InlineData("tags.`mlflow.user` = 'y'", false)]
    [InlineData("metrics.\"val loss\" <= 0.25", true)]
    [InlineData("params.`learning rate` = '0.1'", true)]
    [InlineData("params.\"learning rate\" = \"0.1\"", true)]
    [InlineData("run_name LIKE 'brave%'", true)]
    [InlineData("attributes.`run name` = 'brave-owl'", true)]
    [InlineData("user_id != 'bob'", true)]
    [InlineData("artifact_uri LIKE 's3://%/artifacts'", true)]
    public void MLflow_documented_examples_match(string filter, bool expected) =>
        Assert.Equal(expected, Search.Matches(filter, Logistic));

    [Theory]
    [InlineData("metrics.rmse = 0.8", true)]
    [InlineData("metrics.rmse = 0.80", true)]
    [InlineData("metrics.rmse != 0.8", false)]
    [InlineData("metrics.rmse != 1", true)]
    [InlineData("metrics.rmse > 0.8", false)]
    [InlineData("metrics.rmse >= 0.8", true)]
    [InlineData("metrics.rmse < 0.8", false)]
    [InlineData("metrics.rmse <= 0.8", true)]
    [InlineData("metrics.rmse > -1", true)]
    [InlineData("metrics.rmse < 8e-1", false)]
    [InlineData("metrics.rmse <= 8e-1", true)]
    [InlineData("start_time >= 1000", true)]
    [InlineData("start_time > 1000", false)]
    [InlineData("created = 1000", true)]
    [InlineData("end_time < 2001", true)]
    public void Numeric_comparisons_compare_numbers(string filter, bool expected) =>
        Assert.Equal(expected, Search.Matches(filter, Logistic));

    [Theory]
    [InlineData("metrics.nan = 1", false)]
    [InlineData("metrics.nan < 1", false)]
    [InlineData("metrics.nan > 1", false)]
    [InlineData("metrics.nan != 1", true)]
    public void A_NaN_metric_is_only_unequal(string filter, bool expected) =>
        Assert.Equal(expected, Search.Matches(filter, Logistic));

    [Theory]
    [InlineData("params.model_class = 'logisticregression'", false)]
    [InlineData("params.model_class != 'logisticregression'", true)]
    [InlineData("params.model_class != 'LogisticRegression'", false)]
    [InlineData("tags.team = 'ML-Core'", true)]
    [InlineData("run_id IN ('zz', 'a1b2')", true)]
    [InlineData("run_id IN ('A1B2')", false)]
    [InlineData("run_id NOT IN ('zz', 'a1b2')", false)]
    [InlineData("run_id NOT IN ('zz')", true)]
    public void String_equality_and_lists_are_case_sensitive(string filter, bool expected) =>
        Assert.Equal(expected, Search.Matches(filter, Logistic));

    [Theory]
    [InlineData("metrics.missing = 1")]
    [InlineData("metrics.missing != 1")]
    [InlineData("metrics.missing < 1000000")]
    [InlineData("params.missing = 'x'")]
    [InlineData("params.missing != 'x'")]
    [InlineData("params.missing LIKE '%'")]
    [InlineData("params.missing ILIKE '%'")]
    [InlineData("tags.missing != ''")]
    [InlineData("tags.missing LIKE '%'")]
    public void Missing_values_never_match_not_even_not_equal(string filter) =>
        Assert.False(Search.Matches(filter, Logistic));

    [Theory]
    [InlineData("end_time > 0")]
    [InlineData("end_time != 5")]
    [InlineData("run_name != 'x'")]
    [InlineData("run_id NOT IN ('x')")]
    [InlineData("status != 'FAILED'")]
    public void Missing_attributes_never_match(string filter)
    {
        var running = new SearchTestTarget("running").Attr("start_time", 5);

        Assert.False(Search.Matches(filter, running));
    }

    [Fact]
    public void Comparisons_are_anded()
    {
        Assert.True(Search.Matches("metrics.rmse < 1 AND tags.team LIKE 'ML%' AND status = 'FINISHED'", Logistic));
        Assert.False(Search.Matches("metrics.rmse < 1 AND tags.team LIKE 'ML%' AND status = 'RUNNING'", Logistic));
    }

    [Fact]
    public void Two_clauses_on_one_key_both_hold() =>
        Assert.False(Search.Matches("metrics.rmse > 0.5 AND metrics.rmse < 0.6", Logistic));

    [Theory]
    [InlineData("datasets.name = 'iris'", true)]
    [InlineData("datasets.name = 'IRIS'", false)]
    [InlineData("datasets.name ILIKE 'IRIS%'", true)]
    [InlineData("datasets.name LIKE 'iris-%'", true)]
    [InlineData("datasets.name IN ('mnist', 'raw')", true)]
    [InlineData("datasets.name NOT IN ('iris')", true)]
    [InlineData("datasets.name NOT IN ('iris', 'iris-holdout', 'raw')", false)]
    [InlineData("datasets.name != 'iris'", true)]
    [InlineData("datasets.digest = 'd2'", true)]
    [InlineData("datasets.digest IN ('d9')", false)]
    [InlineData("datasets.context = 'training'", true)]
    [InlineData("datasets.context = 'test'", false)]
    [InlineData("datasets.context != 'training'", true)]
    [InlineData("datasets.context NOT IN ('training', 'eval')", false)]
    public void A_run_matches_when_any_dataset_input_matches(string filter, bool expected) =>
        Assert.Equal(expected, Search.Matches(filter, Logistic));

    [Fact]
    public void Dataset_clauses_are_each_satisfied_by_any_input() =>
        Assert.True(Search.Matches("datasets.name = 'raw' AND datasets.context = 'eval'", Logistic));

    [Theory]
    [InlineData("datasets.name != 'x'")]
    [InlineData("datasets.name NOT IN ('x')")]
    [InlineData("datasets.context LIKE '%'")]
    public void A_run_without_datasets_matches_no_dataset_clause(string filter) =>
        Assert.False(Search.Matches(filter, new SearchTestTarget("none")));

    [Fact]
    public void An_input_without_context_matches_no_context_clause()
    {
        var run = new SearchTestTarget("raw only").Dataset("raw", "d3");

        Assert.False(Search.Matches("datasets.context != 'training'", run));
        Assert.True(Search.Matches("datasets.name = 'raw'", run));
    }

    [Theory]
    [InlineData("name LIKE 'prod%'", true)]
    [InlineData("name ILIKE 'PROD-%'", true)]
    [InlineData("name = 'prod-churn'", true)]
    [InlineData("name LIKE 'Prod%'", false)]
    [InlineData("creation_time > 10", true)]
    [InlineData("last_update_time < 20", false)]
    [InlineData("tags.team = 'ml'", true)]
    [InlineData("tags.missing != 'ml'", false)]
    public void Experiments_match_their_fields(string filter, bool expected)
    {
        var experiment = new SearchTestTarget("1").Attr("name", "prod-churn").Attr("creation_time", 11).Attr("last_update_time", 20).Tag("team", "ml");

        Assert.Equal(expected, Search.Matches(filter, experiment, SearchKind.Experiments));
    }

    [Theory]
    [InlineData("name LIKE 'prod%'", true)]
    [InlineData("name != 'prod-churn'", false)]
    [InlineData("tags.owner ILIKE 'ANN'", true)]
    public void Registered_models_match_their_fields(string filter, bool expected)
    {
        var model = new SearchTestTarget("prod-churn").Attr("name", "prod-churn").Tag("owner", "ann");

        Assert.Equal(expected, Search.Matches(filter, model, SearchKind.RegisteredModels));
    }

    [Theory]
    [InlineData("name = 'churn' AND version_number > 2", true)]
    [InlineData("version_number = 3", true)]
    [InlineData("version_number = '3'", true)]
    [InlineData("version_number != 3", false)]
    [InlineData("run_id IN ('r1', 'r2')", true)]
    [InlineData("run_id = 'r9'", false)]
    [InlineData("source_path LIKE 's3://models/%'", true)]
    [InlineData("tags.validated = 'true'", true)]
    public void Model_versions_match_their_fields(string filter, bool expected)
    {
        var version = new SearchTestTarget("churn/3").Attr("name", "churn").Attr("version_number", 3).Attr("run_id", "r1")
            .Attr("source_path", "s3://models/churn/3").Tag("validated", "true");

        Assert.Equal(expected, Search.Matches(filter, version, SearchKind.ModelVersions));
    }

    [Fact]
    public void Filters_select_from_many_targets()
    {
        var runs = Enumerable.Range(1, 10).Select(i => new SearchTestTarget($"r{i}").Metric("acc", i / 10.0).Param("model", i % 2 == 0 ? "gbm" : "lr")).ToList();
        var filter = SearchFilter.Parse("metrics.acc >= 0.5 AND params.model = 'gbm'", SearchKind.Runs);

        Assert.Equal(["r6", "r8", "r10"], Search.Ids(runs.Where(filter.Matches)));
    }
}
