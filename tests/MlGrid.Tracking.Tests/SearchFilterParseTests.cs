using MlGrid.Tracking;

namespace MlGrid.Tracking.Tests;

public sealed class SearchFilterParseTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t\n")]
    public void Empty_filter_matches_everything(string? filter)
    {
        var parsed = SearchFilter.Parse(filter, SearchKind.Runs);

        Assert.True(parsed.IsEmpty);
        Assert.True(parsed.Matches(new SearchTestTarget("bare")));
    }

    [Theory]
    [InlineData("metrics.rmse < 1", SearchEntity.Metric, "rmse")]
    [InlineData("metric.rmse < 1", SearchEntity.Metric, "rmse")]
    [InlineData("params.alpha = '0.5'", SearchEntity.Param, "alpha")]
    [InlineData("param.alpha = '0.5'", SearchEntity.Param, "alpha")]
    [InlineData("parameters.alpha = '0.5'", SearchEntity.Param, "alpha")]
    [InlineData("parameter.alpha = '0.5'", SearchEntity.Param, "alpha")]
    [InlineData("tags.team = 'ml'", SearchEntity.Tag, "team")]
    [InlineData("tag.team = 'ml'", SearchEntity.Tag, "team")]
    [InlineData("attributes.status = 'FINISHED'", SearchEntity.Attribute, "status")]
    [InlineData("attribute.status = 'FINISHED'", SearchEntity.Attribute, "status")]
    [InlineData("attr.status = 'FINISHED'", SearchEntity.Attribute, "status")]
    [InlineData("run.status = 'FINISHED'", SearchEntity.Attribute, "status")]
    [InlineData("status = 'FINISHED'", SearchEntity.Attribute, "status")]
    [InlineData("datasets.name = 'iris'", SearchEntity.Dataset, "name")]
    [InlineData("dataset.digest = 'abc'", SearchEntity.Dataset, "digest")]
    [InlineData("datasets.context = 'training'", SearchEntity.Dataset, "context")]
    [InlineData("METRICS.rmse < 1", SearchEntity.Metric, "rmse")]
    [InlineData("`metrics`.rmse < 1", SearchEntity.Metric, "rmse")]
    public void Prefixes_name_their_entity(string filter, SearchEntity entity, string key)
    {
        var clause = Search.Single(filter);

        Assert.Equal(entity, clause.Entity);
        Assert.Equal(key, clause.Key);
    }

    [Theory]
    [InlineData("metrics.\"val loss\" < 1", "val loss")]
    [InlineData("metrics.`val loss` < 1", "val loss")]
    [InlineData("params.`learning rate` = '0.1'", "learning rate")]
    [InlineData("tags.\"mlflow.user\" = 'x'", "mlflow.user")]
    [InlineData("tags.`mlflow.source.git.commit` = 'x'", "mlflow.source.git.commit")]
    [InlineData("tags.mlflow.user = 'x'", "mlflow.user")]
    [InlineData("metrics.val-loss < 1", "val-loss")]
    [InlineData("metrics.train/loss < 1", "train/loss")]
    [InlineData("metrics.`2d_metric` < 1", "2d_metric")]
    [InlineData("params.\"with \"\"quotes\"\"\" = 'x'", "with \"quotes\"")]
    [InlineData("params.`back``tick` = 'x'", "back`tick")]
    public void Keys_may_be_quoted_to_hold_spaces_and_dots(string filter, string key) =>
        Assert.Equal(key, Search.Single(filter).Key);

    [Theory]
    [InlineData("metrics.x = 1", SearchComparator.Equal)]
    [InlineData("metrics.x != 1", SearchComparator.NotEqual)]
    [InlineData("metrics.x < 1", SearchComparator.Less)]
    [InlineData("metrics.x <= 1", SearchComparator.LessOrEqual)]
    [InlineData("metrics.x > 1", SearchComparator.Greater)]
    [InlineData("metrics.x >= 1", SearchComparator.GreaterOrEqual)]
    [InlineData("metrics.x>=1", SearchComparator.GreaterOrEqual)]
    [InlineData("params.x LIKE 'a%'", SearchComparator.Like)]
    [InlineData("params.x like 'a%'", SearchComparator.Like)]
    [InlineData("params.x ILIKE 'a%'", SearchComparator.ILike)]
    [InlineData("params.x iLike 'a%'", SearchComparator.ILike)]
    [InlineData("run_id IN ('a')", SearchComparator.In)]
    [InlineData("run_id in ('a')", SearchComparator.In)]
    [InlineData("run_id NOT IN ('a')", SearchComparator.NotIn)]
    [InlineData("run_id not   in ('a')", SearchComparator.NotIn)]
    [InlineData("params.x!='a'", SearchComparator.NotEqual)]
    public void Comparators_parse_in_any_case(string filter, SearchComparator comparator) =>
        Assert.Equal(comparator, Search.Single(filter).Comparator);

    [Theory]
    [InlineData("metrics.x > 1", 1)]
    [InlineData("metrics.x > 0.5", 0.5)]
    [InlineData("metrics.x > .5", 0.5)]
    [InlineData("metrics.x > 1.", 1)]
    [InlineData("metrics.x > -2", -2)]
    [InlineData("metrics.x > +2", 2)]
    [InlineData("metrics.x > -0.25", -0.25)]
    [InlineData("metrics.x > 1e-3", 0.001)]
    [InlineData("metrics.x > 2.5E+2", 250)]
    [InlineData("metrics.x>-1", -1)]
    [InlineData("start_time >= 1700000000000", 1700000000000)]
    public void Numbers_parse_as_integers_decimals_and_scientific(string filter, double value)
    {
        var clause = Search.Single(filter);

        Assert.True(clause.IsNumeric);
        Assert.Equal(value, clause.NumericValue);
    }

    [Theory]
    [InlineData("params.model = 'LogisticRegression'", "LogisticRegression")]
    [InlineData("params.model = \"LogisticRegression\"", "LogisticRegression")]
    [InlineData("params.model = ''", "")]
    [InlineData("params.model = 'it''s'", "it's")]
    [InlineData("params.model = \"say \"\"hi\"\"\"", "say \"hi\"")]
    [InlineData("params.model = \"it's\"", "it's")]
    [InlineData("params.model = 'a \"quoted\" word'", "a \"quoted\" word")]
    [InlineData("params.model = 'has AND inside'", "has AND inside")]
    [InlineData("params.model = ' padded '", " padded ")]
    public void Strings_take_single_or_double_quotes(string filter, string value)
    {
        var clause = Search.Single(filter);

        Assert.False(clause.IsNumeric);
        Assert.Equal(value, clause.StringValue);
    }

    [Fact]
    public void Lists_hold_quoted_strings_of_either_kind()
    {
        var clause = Search.Single("run_id IN ('a1', \"b2\",'c''3' )");

        Assert.Equal(["a1", "b2", "c'3"], clause.StringValues);
    }

    [Theory]
    [InlineData("metrics.rmse < 1 and params.model_class = 'LogisticRegression'", 2)]
    [InlineData("metrics.rmse < 1 AND params.model_class = 'LogisticRegression'", 2)]
    [InlineData("metrics.rmse < 1 And params.a = 'x' aNd tags.b = 'y'", 3)]
    [InlineData("  metrics.rmse<1   AND   params.a='x'  ", 2)]
    [InlineData("metrics.a<1\nAND\tmetrics.b>2", 2)]
    public void Comparisons_join_with_and_in_any_case(string filter, int count) =>
        Assert.Equal(count, SearchFilter.Parse(filter, SearchKind.Runs).Clauses.Count);

    [Theory]
    [InlineData("created > 5", "start_time")]
    [InlineData("Created > 5", "start_time")]
    [InlineData("attributes.created > 5", "start_time")]
    [InlineData("`run name` = 'x'", "run_name")]
    [InlineData("attributes.`Run Name` = 'x'", "run_name")]
    [InlineData("attributes.\"Run name\" = 'x'", "run_name")]
    public void Run_attribute_aliases_reach_the_target_canonical(string filter, string key) =>
        Assert.Equal(key, Search.Single(filter).Key);

    [Theory]
    [InlineData("run_id = 'abc'", false)]
    [InlineData("run_name = 'abc'", false)]
    [InlineData("status = 'RUNNING'", false)]
    [InlineData("user_id = 'ann'", false)]
    [InlineData("artifact_uri LIKE 's3://%'", false)]
    [InlineData("start_time > 0", true)]
    [InlineData("end_time > 0", true)]
    public void Every_run_attribute_parses(string filter, bool numeric) =>
        Assert.Equal(numeric, Search.Single(filter).IsNumeric);

    [Theory]
    [InlineData("name = 'prod'", SearchKind.Experiments, false)]
    [InlineData("name LIKE 'prod%'", SearchKind.Experiments, false)]
    [InlineData("attributes.name ILIKE '%PROD%'", SearchKind.Experiments, false)]
    [InlineData("creation_time > 100", SearchKind.Experiments, true)]
    [InlineData("last_update_time <= 100", SearchKind.Experiments, true)]
    [InlineData("tags.team = 'ml'", SearchKind.Experiments, false)]
    [InlineData("name = 'churn'", SearchKind.RegisteredModels, false)]
    [InlineData("name LIKE 'prod%'", SearchKind.RegisteredModels, false)]
    [InlineData("tags.stage != 'dev'", SearchKind.RegisteredModels, false)]
    [InlineData("name = 'churn'", SearchKind.ModelVersions, false)]
    [InlineData("run_id = 'abc'", SearchKind.ModelVersions, false)]
    [InlineData("run_id IN ('abc', 'def')", SearchKind.ModelVersions, false)]
    [InlineData("source_path LIKE 's3://%'", SearchKind.ModelVersions, false)]
    [InlineData("version_number > 2", SearchKind.ModelVersions, true)]
    [InlineData("tags.validated = 'true'", SearchKind.ModelVersions, false)]
    public void Each_kind_parses_its_own_attributes(string filter, SearchKind kind, bool numeric)
    {
        var clause = Search.Single(filter, kind);

        Assert.Equal(numeric, clause.IsNumeric);
        Assert.Equal(kind, SearchFilter.Parse(filter, kind).Kind);
    }

    [Fact]
    public void A_quoted_version_number_is_read_as_a_number_as_MLflow_does()
    {
        var clause = Search.Single("version_number = '3'", SearchKind.ModelVersions);

        Assert.Equal(3, clause.NumericValue);
    }

    [Fact]
    public void Clauses_keep_their_written_order_and_print_back()
    {
        var parsed = SearchFilter.Parse("metrics.`val loss` < 0.5 AND tags.\"mlflow.user\" = 'o''neil' AND run_id IN ('a', 'b')", SearchKind.Runs);

        Assert.Equal(
            ["metrics.`val loss` < 0.5", "tags.`mlflow.user` = 'o''neil'", "attributes.run_id IN ('a', 'b')"],
            parsed.Clauses.Select(c => c.ToString()));
    }

    [Fact]
    public void Printed_clauses_parse_back_to_the_same_clause()
    {
        var parsed = SearchFilter.Parse("metrics.`val loss` >= -1.5 AND params.x ILIKE '%a_b%' AND datasets.context NOT IN ('eval')", SearchKind.Runs);

        var reparsed = SearchFilter.Parse(string.Join(" AND ", parsed.Clauses), SearchKind.Runs);

        Assert.Equal(parsed.Clauses.Select(c => c.ToString()), reparsed.Clauses.Select(c => c.ToString()));
    }
}
