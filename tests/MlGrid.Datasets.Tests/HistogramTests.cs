using System.Globalization;

namespace MlGrid.Datasets.Tests;

public sealed class HistogramTests
{
    public static TheoryData<int> Seeds => [1, 2, 3, 4, 5, 6, 7, 8];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_floats_with_negatives_and_a_far_outlier_land_in_bins_that_contain_them(int seed)
    {
        var random = new Random(seed);
        var values = Enumerable.Range(0, 2_000).Select(_ => Math.Round((random.NextDouble() - 0.6) * 50, random.Next(0, 6))).ToList();
        values.Insert(random.Next(values.Count), seed % 2 == 0 ? 1e9 : -3.5e7);
        values.Insert(random.Next(values.Count), random.NextDouble() * 1e-3);

        var column = Csv.Profile("v\n" + string.Concat(values.Select(v => v.ToString("R", CultureInfo.InvariantCulture) + "\n"))).Column("v");

        Assert.Equal(ColumnTypes.Float, column.Type);
        AssertHolds(values, column.Histogram!, bins: 20);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_values_of_every_scale_keep_the_property(int seed)
    {
        var random = new Random(seed);
        var histogram = new StreamingHistogram(20);
        var values = new List<double>();
        for (var i = 0; i < 5_000; i++)
        {
            var value = random.Next(4) switch
            {
                0 => random.NextDouble() - 0.5,
                1 => Math.ScaleB(random.NextDouble() - 0.5, random.Next(-60, 60)),
                2 => Math.ScaleB(random.NextDouble() - 0.5, random.Next(-1074, 1024)),
                _ => random.Next(-3, 3),
            };
            values.Add(value);
            histogram.Add(value, int.MinValue);
        }

        AssertHolds(values, histogram.ToHistogram()!, bins: 20);
    }

    [Fact]
    public void Values_that_grow_one_way_keep_the_property()
    {
        var histogram = new StreamingHistogram(20);
        var values = Enumerable.Range(0, 3_000).Select(i => -Math.Pow(1.01, i)).ToList();
        values.ForEach(v => histogram.Add(v, int.MinValue));

        AssertHolds(values, histogram.ToHistogram()!, bins: 20);
    }

    [Fact]
    public void Extremes_of_the_double_range_keep_the_property()
    {
        double[] values = [double.Epsilon, -double.Epsilon, 0, double.MaxValue, double.MinValue, 1, -1, 1e-300];
        var histogram = new StreamingHistogram(20);
        foreach (var value in values)
        {
            histogram.Add(value, int.MinValue);
        }

        AssertHolds(values, histogram.ToHistogram()!, bins: 20);
    }

    [Fact]
    public void Small_integer_columns_get_one_bin_per_value()
    {
        var histogram = Csv.Profile("n\n1\n2\n2\n3\n5\n").Column("n").Histogram!;

        Assert.Equal([1.0, 2, 3, 4, 5, 5], histogram.Edges);
        Assert.Equal([1L, 2, 1, 0, 1], histogram.Counts);
    }

    [Fact]
    public void Constant_column_has_one_bin_from_min_to_max()
    {
        var histogram = Csv.Profile("n\n7\n7\n\n7\n").Column("n").Histogram!;

        Assert.Equal([7.0, 7.0], histogram.Edges);
        Assert.Equal([3L], histogram.Counts);
    }

    [Fact]
    public void Evenly_spread_values_fill_at_least_half_the_bins()
    {
        var random = new Random(11);
        var values = Enumerable.Range(0, 10_000).Select(_ => random.NextDouble() * 100).ToList();
        var histogram = new StreamingHistogram(20);
        values.ForEach(v => histogram.Add(v, int.MinValue));

        var result = histogram.ToHistogram()!;
        AssertHolds(values, result, bins: 20);
        Assert.InRange(result.Counts.Count, 10, 20);
    }

    private static void AssertHolds(IReadOnlyList<double> values, Histogram histogram, int bins)
    {
        var edges = histogram.Edges;
        var n = histogram.Counts.Count;
        Assert.InRange(n, 1, bins);
        Assert.Equal(n + 1, edges.Count);
        Assert.Equal(values.Min(), edges[0]);
        Assert.Equal(values.Max(), edges[n]);
        Assert.Equal(values.Count, histogram.Counts.Sum());
        for (var j = 0; j < n; j++)
        {
            Assert.True(edges[j] <= edges[j + 1], $"edges {j} and {j + 1} are out of order");
        }

        // Bins are [edge, next edge), the last one closed: recounting from the edges must give the reported counts.
        var counts = new long[n];
        foreach (var value in values)
        {
            var bin = Math.Min(n - 1, LastEdgeAtOrBelow(edges, value));
            Assert.True(
                edges[bin] <= value && (value < edges[bin + 1] || (bin == n - 1 && value <= edges[n])),
                $"{value:R} is outside [{edges[bin]:R}, {edges[bin + 1]:R})");
            counts[bin]++;
        }

        Assert.Equal(counts, histogram.Counts);
    }

    private static int LastEdgeAtOrBelow(IReadOnlyList<double> edges, double value)
    {
        var found = 0;
        for (var i = 0; i < edges.Count; i++)
        {
            if (edges[i] <= value)
            {
                found = i;
            }
        }

        return found;
    }
}
