using Parquet;
using Parquet.Schema;

namespace MlGrid.Datasets.Tests;

/// <summary>One column to write: its field, its length, and how to write rows [from, from + count) of it into a row group.</summary>
internal sealed record ParquetColumn(Field Field, int Rows, Func<ParquetRowGroupWriter, int, int, Task> Write)
{
    /// <summary>A nullable column (the field must be nullable).</summary>
    public static ParquetColumn Of<T>(DataField field, T?[] values)
        where T : struct =>
        new(field, values.Length, (rowGroup, from, count) => rowGroup.WriteAsync<T>(field, values.AsMemory(from, count)));

    /// <summary>A column without nulls (the field must not be nullable).</summary>
    public static ParquetColumn Required<T>(DataField field, T[] values)
        where T : struct =>
        new(field, values.Length, (rowGroup, from, count) => rowGroup.WriteAsync<T>(field, values.AsMemory(from, count)));

    public static ParquetColumn Strings(string name, string?[] values)
    {
        var field = new DataField<string>(name, nullable: true);
        return new(field, values.Length, (rowGroup, from, count) => rowGroup.WriteAsync(field, values[from..(from + count)]));
    }
}

/// <summary>Parquet files written in memory with Parquet.Net, and the profiler run over them.</summary>
internal static class ParquetFiles
{
    /// <summary>Writes the columns in row groups of the given sizes (none: a file with a schema and no row groups).</summary>
    public static async Task<byte[]> WriteAsync(int[] rowGroups, params ParquetColumn[] columns)
    {
        using var stream = new MemoryStream();
        var schema = new ParquetSchema(columns.Select(c => c.Field));
        await using (var writer = await ParquetWriter.CreateAsync(schema, stream))
        {
            var from = 0;
            foreach (var size in rowGroups)
            {
                using var rowGroup = writer.CreateRowGroup();
                foreach (var column in columns)
                {
                    await column.Write(rowGroup, from, size);
                }

                from += size;
            }
        }

        return stream.ToArray();
    }

    /// <summary>Writes the columns in one row group.</summary>
    public static Task<byte[]> WriteAsync(params ParquetColumn[] columns) =>
        WriteAsync([columns[0].Rows], columns);

    public static Task<DatasetProfile> ProfileAsync(byte[] file, ProfilerOptions? options = null) =>
        ParquetProfiler.ProfileAsync(new MemoryStream(file, writable: false), options, CancellationToken.None);

    public static Task<DatasetFormatException> ErrorAsync(byte[] file, ProfilerOptions? options = null) =>
        Assert.ThrowsAsync<DatasetFormatException>(() => ProfileAsync(file, options));
}
