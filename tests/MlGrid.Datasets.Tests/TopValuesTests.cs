namespace MlGrid.Datasets.Tests;

public sealed class TopValuesTests
{
    [Fact]
    public void Small_cardinality_counts_are_exact_and_ordered()
    {
        var random = new Random(3);
        var expected = new Dictionary<string, long>();
        var rows = new List<string>();
        for (var i = 0; i < 5_000; i++)
        {
            var value = $"v{(int)Math.Sqrt(random.Next(400))}";
            expected[value] = expected.GetValueOrDefault(value) + 1;
            rows.Add(value);
        }

        var column = Csv.Profile("s\n" + string.Join("\n", rows)).Column("s");

        var top = expected.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(10)
            .Select(p => new ValueCount(p.Key, p.Value));
        Assert.Equal(top, column.TopValues);
    }

    [Fact]
    public void Counter_is_exact_up_to_its_capacity()
    {
        var counter = new TopValueCounter(1_000);
        for (var i = 0; i < 1_000; i++)
        {
            for (var k = 0; k <= i % 7; k++)
            {
                counter.Add($"x{i}");
            }
        }

        Assert.True(counter.IsExact);
        Assert.Equal(1_000, counter.Distinct);
        Assert.All(counter.Top(1_000), v => Assert.Equal((int.Parse(v.Value[1..], System.Globalization.CultureInfo.InvariantCulture) % 7) + 1, v.Count));
    }

    [Fact]
    public void Large_cardinality_stays_within_capacity_and_keeps_the_heavy_hitters()
    {
        var counter = new TopValueCounter(1_000);
        var random = new Random(5);
        for (var i = 0; i < 200_000; i++)
        {
            counter.Add(random.Next(10) switch
            {
                0 => "heavy-a",
                1 => "heavy-b",
                _ => $"rare-{random.Next(1_000_000)}",
            });
        }

        Assert.False(counter.IsExact);
        Assert.Equal(1_000, counter.Distinct);
        var top = counter.Top(10);
        Assert.Equal(["heavy-a", "heavy-b"], top.Take(2).Select(v => v.Value).Order(StringComparer.Ordinal));

        // Space-Saving overestimates by at most n / capacity.
        Assert.All(top.Take(2), v => Assert.InRange(v.Count, 18_000, 22_000 + 200));
    }

    [Fact]
    public void Profile_reports_at_most_ten_values_for_a_high_cardinality_column()
    {
        var column = Csv.Profile("s\n" + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"id{i}\n"))).Column("s");

        Assert.Equal(10, column.TopValues.Count);
        Assert.Equal(ColumnTypes.String, column.Type);
    }
}
