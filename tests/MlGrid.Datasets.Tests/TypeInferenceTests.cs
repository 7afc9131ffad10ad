namespace MlGrid.Datasets.Tests;

public sealed class TypeInferenceTests
{
    [Fact]
    public void Columns_get_the_narrowest_type_all_their_values_fit()
    {
        var profile = Csv.Profile("i,f,b,s\n1,1.5,true,x\n-2,2e3,FALSE,1\n3,-0.25,True,\n");

        Assert.Equal(3, profile.Rows);
        Assert.Equal(ColumnTypes.Integer, profile.Column("i").Type);
        Assert.Equal(ColumnTypes.Float, profile.Column("f").Type);
        Assert.Equal(ColumnTypes.Boolean, profile.Column("b").Type);
        Assert.Equal(ColumnTypes.String, profile.Column("s").Type);
    }

    [Fact]
    public void Integer_widens_to_float_and_keeps_the_earlier_values_in_the_stats()
    {
        var column = Csv.Profile("x\n1\n2\n4.5\n").Column("x");

        Assert.Equal(ColumnTypes.Float, column.Type);
        Assert.Equal(1, column.Min);
        Assert.Equal(4.5, column.Max);
        Assert.Equal(2.5, column.Mean);
        Assert.Equal(3, column.Histogram!.Counts.Sum());
    }

    [Fact]
    public void Numeric_column_that_turns_to_text_reports_string_stats_with_every_value_counted()
    {
        var column = Csv.Profile("x\n1\n2\n2\n2.5\nabc\n").Column("x");

        Assert.Equal(ColumnTypes.String, column.Type);
        Assert.Null(column.Min);
        Assert.Null(column.Max);
        Assert.Null(column.Mean);
        Assert.Null(column.Std);
        Assert.Null(column.Histogram);
        Assert.Equal(
            [new("2", 2), new("1", 1), new("2.5", 1), new("abc", 1)],
            column.TopValues);
    }

    [Fact]
    public void Boolean_and_number_in_one_column_is_string()
    {
        Assert.Equal(ColumnTypes.String, Csv.Profile("x\ntrue\n1\n").Column("x").Type);
        Assert.Equal(ColumnTypes.String, Csv.Profile("x\n1\nfalse\n").Column("x").Type);
    }

    [Fact]
    public void Boolean_top_values_are_normalised_to_lower_case()
    {
        var column = Csv.Profile("b\nTRUE\ntrue\nFalse\nTrue\n").Column("b");

        Assert.Equal([new("true", 3), new("false", 1)], column.TopValues);
        Assert.Null(column.Histogram);
    }

    [Fact]
    public void Not_a_number_and_infinity_make_a_column_string()
    {
        Assert.Equal(ColumnTypes.String, Csv.Profile("x\n1.5\nNaN\n").Column("x").Type);
        Assert.Equal(ColumnTypes.String, Csv.Profile("x\n1.5\n-Infinity\n").Column("x").Type);
        Assert.Equal(ColumnTypes.String, Csv.Profile("x\n1e400\n").Column("x").Type);
    }

    [Fact]
    public void Integers_beyond_long_are_float()
    {
        Assert.Equal(ColumnTypes.Float, Csv.Profile("x\n1\n99999999999999999999\n").Column("x").Type);
    }

    [Fact]
    public void Empty_fields_are_nulls_and_stay_out_of_the_stats()
    {
        var profile = Csv.Profile("a,b,c\n1,,\n,x,\n3,\"\",\n");
        var a = profile.Column("a");

        Assert.Equal(1, a.Nulls);
        Assert.Equal(ColumnTypes.Integer, a.Type);
        Assert.Equal(2, a.Mean);
        Assert.Equal(2, profile.Column("b").Nulls);
        Assert.Equal([new("x", 1)], profile.Column("b").TopValues);

        var c = profile.Column("c");
        Assert.Equal(3, c.Nulls);
        Assert.Equal(ColumnTypes.String, c.Type);
        Assert.Empty(c.TopValues);
    }

    [Fact]
    public void Mean_and_sample_std_match_a_direct_computation()
    {
        var random = new Random(7);
        var values = Enumerable.Range(0, 5_000).Select(_ => (random.NextDouble() * 1_000) - 300).ToArray();
        var column = Csv.Profile("v\n" + string.Concat(values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "\n"))).Column("v");

        var mean = values.Average();
        var std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
        Assert.Equal(mean, column.Mean!.Value, 1e-9);
        Assert.Equal(std, column.Std!.Value, 1e-9);
        Assert.Equal(values.Min(), column.Min);
        Assert.Equal(values.Max(), column.Max);
    }

    [Fact]
    public void Std_is_null_below_two_values()
    {
        var column = Csv.Profile("v\n5\n\n").Column("v");

        Assert.Equal(5, column.Mean);
        Assert.Null(column.Std);
    }

    [Fact]
    public void Numeric_columns_list_their_values_only_when_all_fit_in_the_report()
    {
        var few = Csv.Profile("v\n1\n1\n2\n").Column("v");
        var many = Csv.Profile("v\n" + string.Concat(Enumerable.Range(0, 11).Select(i => $"{i}\n"))).Column("v");

        Assert.Equal([new("1", 2), new("2", 1)], few.TopValues);
        Assert.Empty(many.TopValues);
    }

    [Fact]
    public void Header_only_file_has_no_rows()
    {
        var profile = Csv.Profile("a,b");

        Assert.Equal(0, profile.Rows);
        Assert.Equal(["a", "b"], profile.Columns.Select(c => c.Name));
        Assert.All(profile.Columns, c => Assert.Equal(ColumnTypes.String, c.Type));
    }
}
