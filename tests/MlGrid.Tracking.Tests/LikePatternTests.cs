using MlGrid.Tracking;

namespace MlGrid.Tracking.Tests;

public sealed class LikePatternTests
{
    [Theory]
    [InlineData("prod%", "prod", true)]
    [InlineData("prod%", "production", true)]
    [InlineData("prod%", "preprod", false)]
    [InlineData("%prod", "preprod", true)]
    [InlineData("%prod", "production", false)]
    [InlineData("%prod%", "a-prod-b", true)]
    [InlineData("%", "", true)]
    [InlineData("%", "anything", true)]
    [InlineData("%%", "x", true)]
    [InlineData("", "", true)]
    [InlineData("", "x", false)]
    [InlineData("_", "x", true)]
    [InlineData("_", "", false)]
    [InlineData("_", "xy", false)]
    [InlineData("a_c", "abc", true)]
    [InlineData("a_c", "ac", false)]
    [InlineData("a_c", "abbc", false)]
    [InlineData("a%c", "ac", true)]
    [InlineData("a%c", "abbbc", true)]
    [InlineData("a%c", "abbbcd", false)]
    [InlineData("a%b%c", "aXbYbZc", true)]
    [InlineData("a%b%c", "aXcYb", false)]
    [InlineData("%a%a%a%b", "aaaaaaaaaaaaaaaaaaaa", false)]
    [InlineData("%_%_", "ab", true)]
    [InlineData("%_%_", "a", false)]
    [InlineData("v1.0", "v1x0", false)]
    [InlineData("v1.0", "v1.0", true)]
    [InlineData("a*b", "axb", false)]
    [InlineData("a*b", "a*b", true)]
    [InlineData("(x)+[y]", "(x)+[y]", true)]
    [InlineData("100\\%", "100%", true)]
    [InlineData("100\\%", "1000", false)]
    [InlineData("a\\_b", "a_b", true)]
    [InlineData("a\\_b", "axb", false)]
    [InlineData("a\\\\b", "a\\b", true)]
    [InlineData("trailing\\", "trailing\\", true)]
    public void Like_matches_sql_patterns_anchored_at_both_ends(string pattern, string value, bool expected) =>
        Assert.Equal(expected, LikePattern.Compile(pattern, ignoreCase: false).IsMatch(value));

    [Theory]
    [InlineData("Prod%", "prod-1", false, false)]
    [InlineData("Prod%", "prod-1", true, true)]
    [InlineData("%CHURN", "prod-churn", true, true)]
    [InlineData("a_C", "AbC", true, true)]
    [InlineData("a_C", "AbC", false, false)]
    [InlineData("ÉTÉ", "été", true, true)]
    public void Ilike_ignores_case_and_like_does_not(string pattern, string value, bool ignoreCase, bool expected) =>
        Assert.Equal(expected, LikePattern.Compile(pattern, ignoreCase).IsMatch(value));

    [Fact]
    public void Long_values_with_many_wildcards_match_quickly()
    {
        var value = new string('a', 50_000) + "b";
        var pattern = LikePattern.Compile("%a%a%a%a%a%a%a%a%b", ignoreCase: false);

        Assert.True(pattern.IsMatch(value));
        Assert.False(pattern.IsMatch(value[..^1]));
    }

    [Theory]
    [InlineData("params.model LIKE 'Logistic%'", true)]
    [InlineData("params.model LIKE 'logistic%'", false)]
    [InlineData("params.model ILIKE 'logistic%'", true)]
    [InlineData("params.model LIKE '%Regression'", true)]
    [InlineData("params.model LIKE 'Logistic_Regression'", false)]
    [InlineData("params.model LIKE 'Logistic_egression'", true)]
    [InlineData("params.model LIKE 'Logistic'", false)]
    [InlineData("tags.path LIKE 'a/%/c'", true)]
    public void Filters_apply_like_and_ilike(string filter, bool expected)
    {
        var run = new SearchTestTarget("r").Param("model", "LogisticRegression").Tag("path", "a/b/c");

        Assert.Equal(expected, Search.Matches(filter, run));
    }
}
