namespace MlGrid.Datasets.Tests;

[CollectionDefinition(nameof(LargeInputTests), DisableParallelization = true)]
public sealed class LargeInputCollection;

// Alone in a non-parallel collection: GC.GetTotalMemory sees the whole process, so other tests must not run meanwhile.
[Collection(nameof(LargeInputTests))]
public sealed class LargeInputTests
{
    private const long Rows = 2_000_000;

    [Fact]
    public void Two_million_rows_profile_with_memory_that_does_not_grow_with_the_file()
    {
        using var stream = new GeneratedCsvStream(Rows);
        var profiler = new CsvProfiler();
        var buffer = new byte[64 * 1024];
        var before = GC.GetTotalMemory(forceFullCollection: true);
        long halfway = -1;

        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            profiler.Append(buffer.AsSpan(0, read));
            if (halfway < 0 && stream.RowsWritten >= Rows / 2)
            {
                halfway = GC.GetTotalMemory(forceFullCollection: true);
            }
        }

        var end = GC.GetTotalMemory(forceFullCollection: true);
        var profile = profiler.Complete();
        GC.KeepAlive(profiler);

        Assert.Equal(Rows, profile.Rows);
        Assert.True(stream.BytesWritten > 50_000_000, $"the file is only {stream.BytesWritten} bytes");

        // The profiler holds a few counters per column; the second million rows must add next to nothing.
        Assert.True(end - before < 8 * 1024 * 1024, $"retained {end - before} bytes for a {stream.BytesWritten}-byte file");
        Assert.True(end - halfway < 1024 * 1024, $"grew by {end - halfway} bytes over the second half");

        var id = profile.Column("id");
        Assert.Equal(ColumnTypes.Integer, id.Type);
        Assert.Equal(0, id.Min);
        Assert.Equal(Rows - 1, id.Max);
        Assert.Equal((Rows - 1) / 2.0, id.Mean!.Value, 1e-6);
        Assert.Equal(Rows, id.Histogram!.Counts.Sum());
        Assert.Empty(id.TopValues);

        var label = profile.Column("label");
        Assert.Equal(ColumnTypes.String, label.Type);
        Assert.All(label.TopValues, v => Assert.Equal(Rows / 50, v.Count));

        var note = profile.Column("note");
        Assert.Equal((Rows + 2) / 3, note.Nulls);
        Assert.Equal([new ValueCount("a, b", Rows - note.Nulls)], note.TopValues);
        Assert.Equal(ColumnTypes.Float, profile.Column("value").Type);
    }
}
