using MlGrid.Tracking;

namespace MlGrid.Tracking.Tests;

/// <summary>Every refusal is a <see cref="TrackingException"/> (INVALID_PARAMETER_VALUE) naming the clause and what is allowed.</summary>
public sealed class SearchFilterRefusalTests
{
    [Fact]
    public void Missing_value_names_the_clause_and_the_comparator()
    {
        var message = Search.Refusal("metrics.acc >");

        Assert.Contains("'metrics.acc >'", message);
        Assert.Contains("expected a value after '>'", message);
    }

    [Fact]
    public void Missing_value_in_a_later_clause_names_that_clause()
    {
        var message = Search.Refusal("params.a = 'x' AND metrics.acc >=");

        Assert.Contains("'metrics.acc >='", message);
        Assert.DoesNotContain("params.a", message);
    }

    [Fact]
    public void Missing_comparator_lists_the_comparators()
    {
        var message = Search.Refusal("metrics.acc");

        Assert.Contains("expected a comparator after 'metrics.acc'", message);
        Assert.Contains("LIKE", message);
        Assert.Contains("NOT IN", message);
    }

    [Theory]
    [InlineData("metrics.acc == 1", "'=='")]
    [InlineData("metrics.acc <> 1", "'<>'")]
    [InlineData("metrics.acc => 1", "'=>'")]
    [InlineData("params.a CONTAINS 'x'", "'CONTAINS'")]
    public void Unknown_comparators_are_refused(string filter, string shown)
    {
        var message = Search.Refusal(filter);

        Assert.Contains(shown, message);
        Assert.Contains("=, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN", message);
    }

    [Fact]
    public void Not_must_be_followed_by_in() =>
        Assert.Contains("expected IN after NOT", Search.Refusal("run_id NOT LIKE 'a%'"));

    [Fact]
    public void Unknown_entity_type_lists_the_valid_prefixes()
    {
        var message = Search.Refusal("foo.bar = 1");

        Assert.Contains("'foo.bar = 1'", message);
        Assert.Contains("invalid entity type 'foo'", message);
        Assert.Contains("metrics.<key>", message);
        Assert.Contains("params.<key>", message);
        Assert.Contains("tags.<key>", message);
        Assert.Contains("datasets.<name|digest|context>", message);
    }

    [Fact]
    public void Params_refuse_numeric_comparators()
    {
        var message = Search.Refusal("params.x > 1");

        Assert.Contains("invalid comparator '>' for param 'x'", message);
        Assert.Contains("=, !=, LIKE, ILIKE", message);
    }

    [Theory]
    [InlineData("tags.x < 'a'", "tag 'x'")]
    [InlineData("status >= 'a'", "string attribute 'status'")]
    [InlineData("datasets.name > 'a'", "dataset name")]
    [InlineData("metrics.x LIKE '1%'", "metric 'x'")]
    [InlineData("start_time ILIKE '1%'", "numeric attribute 'start_time'")]
    [InlineData("params.x IN ('a')", "param 'x'")]
    [InlineData("tags.x NOT IN ('a')", "tag 'x'")]
    public void Comparators_outside_a_field_type_are_refused(string filter, string what) =>
        Assert.Contains($"for {what}", Search.Refusal(filter));

    [Theory]
    [InlineData("status IN ('RUNNING')")]
    [InlineData("run_name NOT IN ('a')")]
    public void Only_run_id_takes_lists_among_run_attributes(string filter)
    {
        var message = Search.Refusal(filter);

        Assert.Contains("Only run_id takes", message);
    }

    [Fact]
    public void Model_versions_take_in_but_not_not_in_for_run_id()
    {
        Assert.Single(SearchFilter.Parse("run_id IN ('a')", SearchKind.ModelVersions).Clauses);
        Assert.Contains("invalid comparator 'NOT IN'", Search.Refusal("run_id NOT IN ('a')", SearchKind.ModelVersions));
        Assert.Contains("Only run_id takes IN", Search.Refusal("name IN ('a')", SearchKind.ModelVersions));
    }

    [Theory]
    [InlineData("metrics.x = 'a'", "metric 'x'", "'a'")]
    [InlineData("metrics.x = \"1\"", "metric 'x'", "\"1\"")]
    [InlineData("start_time > '2024'", "numeric attribute 'start_time'", "'2024'")]
    [InlineData("created > 'yesterday'", "numeric attribute 'start_time'", "'yesterday'")]
    public void Numeric_fields_refuse_quoted_values(string filter, string what, string found)
    {
        var message = Search.Refusal(filter);

        Assert.Contains($"expected a numeric value for {what}, found {found}", message);
    }

    [Theory]
    [InlineData("creation_time = 'a'", SearchKind.Experiments)]
    [InlineData("version_number = 'three'", SearchKind.ModelVersions)]
    public void Numeric_attributes_of_other_kinds_refuse_strings(string filter, SearchKind kind) =>
        Assert.Contains("expected a numeric value", Search.Refusal(filter, kind));

    [Theory]
    [InlineData("params.x = 1", "param 'x'")]
    [InlineData("tags.x = 1.5", "tag 'x'")]
    [InlineData("status = 3", "string attribute 'status'")]
    [InlineData("datasets.digest = 12", "dataset digest")]
    public void String_fields_refuse_numbers(string filter, string what) =>
        Assert.Contains($"expected a quoted string value for {what}", Search.Refusal(filter));

    [Theory]
    [InlineData("params.x = abc", "'abc'")]
    [InlineData("status = FINISHED", "'FINISHED'")]
    [InlineData("params.x = `abc`", "'`abc`'")]
    public void Unquoted_words_are_not_values(string filter, string shown)
    {
        var message = Search.Refusal(filter);

        Assert.Contains($"expected a quoted string or a number after '=', found {shown}", message);
    }

    [Theory]
    [InlineData("metrics.x > 1abc", "'1abc'")]
    [InlineData("metrics.x > 1.2.3", "'1.2.3'")]
    [InlineData("metrics.x > -", "'-'")]
    [InlineData("metrics.x > 1e", "'1e'")]
    public void Malformed_numbers_are_refused(string filter, string shown) =>
        Assert.Contains($"{shown} is not a number", Search.Refusal(filter));

    [Theory]
    [InlineData("a = 1 OR b = 2")]
    [InlineData("metrics.a > 1 or metrics.b > 2")]
    public void Or_is_refused(string filter)
    {
        var message = Search.Refusal(filter);

        Assert.Contains("OR is not supported", message);
        Assert.Contains("AND", message);
    }

    [Theory]
    [InlineData("(metrics.a > 1)")]
    [InlineData("metrics.a > 1 AND (metrics.b > 2 AND metrics.c > 3)")]
    public void Parenthesised_groups_are_refused(string filter) =>
        Assert.Contains("do not group comparisons", Search.Refusal(filter));

    [Fact]
    public void Trailing_parenthesis_is_unexpected() =>
        Assert.Contains("unexpected ')'", Search.Refusal("metrics.a > 1)"));

    [Theory]
    [InlineData("metrics.a > 1 metrics.b > 2", "'metrics.b'")]
    [InlineData("params.a = 'x' 'y'", "''y''")]
    [InlineData("metrics.a > 1 && metrics.b > 2", "'&&'")]
    public void Clauses_must_be_joined_with_and(string filter, string shown)
    {
        var message = Search.Refusal(filter);

        Assert.Contains($"unexpected {shown}", message);
        Assert.Contains("join comparisons with AND", message);
    }

    [Theory]
    [InlineData("metrics.a > 1 AND")]
    [InlineData("metrics.a > 1 and   ")]
    public void Dangling_and_is_refused(string filter) =>
        Assert.Contains("ends with AND", Search.Refusal(filter));

    [Fact]
    public void Leading_and_is_not_an_identifier() =>
        Assert.Contains("'AND'", Search.Refusal("AND metrics.a > 1"));

    [Theory]
    [InlineData("params.x = 'abc", "single quote opened at character 12 is never closed")]
    [InlineData("params.x = \"abc", "double quote opened at character 12 is never closed")]
    [InlineData("params.x = 'it''s", "never closed")]
    [InlineData("tags.\"mlflow.user = 'x'", "double quote opened at character 6 is never closed")]
    [InlineData("params.`learning rate = '0.1'", "backtick opened at character 8 is never closed")]
    public void Unclosed_quotes_are_refused(string filter, string problem) =>
        Assert.Contains(problem, Search.Refusal(filter));

    [Theory]
    [InlineData("run_id IN ()", "the list is empty")]
    [InlineData("run_id IN ('a',)", "list items must be quoted strings")]
    [InlineData("run_id IN ('a' 'b')", "expected ',' or ')'")]
    [InlineData("run_id IN ('a', 1)", "list items must be quoted strings, found '1)'")]
    [InlineData("run_id IN ('a'", "has no closing ')'")]
    [InlineData("run_id IN 'a'", "IN needs a parenthesised list")]
    [InlineData("run_id NOT IN 'a'", "NOT IN needs a parenthesised list")]
    [InlineData("run_id = ('a')", "a parenthesised list only goes with IN or NOT IN")]
    public void Malformed_lists_are_refused(string filter, string problem) =>
        Assert.Contains(problem, Search.Refusal(filter));

    [Fact]
    public void Unknown_attribute_lists_the_valid_keys()
    {
        var message = Search.Refusal("attributes.colour = 'red'");

        Assert.Contains("invalid attribute key 'colour'", message);
        Assert.Contains("artifact_uri, end_time, run_id, run_name, start_time, status, user_id", message);
    }

    [Fact]
    public void Bare_unknown_identifier_is_an_unknown_attribute() =>
        Assert.Contains("invalid attribute key 'acc'", Search.Refusal("acc > 1"));

    [Fact]
    public void Attribute_keys_are_case_sensitive() =>
        Assert.Contains("invalid attribute key 'Status'", Search.Refusal("Status = 'FINISHED'"));

    [Fact]
    public void Unknown_dataset_key_lists_the_valid_keys()
    {
        var message = Search.Refusal("datasets.source = 'x'");

        Assert.Contains("invalid dataset key 'source'", message);
        Assert.Contains("name, digest, context", message);
    }

    [Theory]
    [InlineData("metrics.acc > 1", SearchKind.Experiments, "'metrics' is not available in")]
    [InlineData("params.a = 'x'", SearchKind.RegisteredModels, "'params' is not available in")]
    [InlineData("datasets.name = 'x'", SearchKind.ModelVersions, "'datasets' is not available in")]
    [InlineData("run.name = 'x'", SearchKind.Experiments, "invalid entity type 'run'")]
    public void Run_only_prefixes_are_refused_elsewhere(string filter, SearchKind kind, string problem)
    {
        var message = Search.Refusal(filter, kind);

        Assert.Contains(problem, message);
        Assert.Contains("tags.<key>", message);
        Assert.DoesNotContain("metrics.<key>", message);
    }

    [Theory]
    [InlineData("experiment_id = '1'", SearchKind.Experiments, "creation_time, last_update_time, name")]
    [InlineData("status = 'x'", SearchKind.Experiments, "creation_time, last_update_time, name")]
    [InlineData("last_updated_timestamp > 1", SearchKind.RegisteredModels, "filter on name")]
    [InlineData("creation_timestamp > 1", SearchKind.ModelVersions, "name, run_id, source_path, version_number")]
    public void Each_kind_lists_its_own_filterable_attributes(string filter, SearchKind kind, string valid) =>
        Assert.Contains(valid, Search.Refusal(filter, kind));

    [Theory]
    [InlineData("name IN ('a')", SearchKind.Experiments)]
    [InlineData("name NOT IN ('a')", SearchKind.RegisteredModels)]
    public void Names_take_no_lists(string filter, SearchKind kind) =>
        Assert.Contains("invalid comparator", Search.Refusal(filter, kind));

    [Theory]
    [InlineData("metrics. > 1", "has no key after the dot")]
    [InlineData("metrics.", "has no key after the dot")]
    [InlineData("= 1", "expected an identifier")]
    [InlineData("'status' = 'x'", "expected an identifier")]
    public void Identifiers_need_a_key(string filter, string problem) =>
        Assert.Contains(problem, Search.Refusal(filter));

    [Fact]
    public void Refusals_are_tracking_exceptions_for_every_kind()
    {
        foreach (var kind in Enum.GetValues<SearchKind>())
        {
            Assert.Throws<TrackingException>(() => SearchFilter.Parse("nonsense", kind));
        }
    }
}
