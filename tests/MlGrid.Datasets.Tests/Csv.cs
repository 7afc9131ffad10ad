using System.Text;
using System.Text.Json;

namespace MlGrid.Datasets.Tests;

internal static class Csv
{
    public static DatasetProfile Profile(string text, ProfilerOptions? options = null) =>
        Profile(Encoding.UTF8.GetBytes(text), options);

    public static DatasetProfile Profile(byte[] bytes, ProfilerOptions? options = null)
    {
        var profiler = new CsvProfiler(options);
        profiler.Append(bytes);
        return profiler.Complete();
    }

    public static DatasetProfile ProfileInChunks(byte[] bytes, int chunkSize)
    {
        var profiler = new CsvProfiler();
        for (var at = 0; at < bytes.Length; at += chunkSize)
        {
            profiler.Append(bytes.AsSpan(at, Math.Min(chunkSize, bytes.Length - at)));
        }

        return profiler.Complete();
    }

    public static DatasetFormatException Error(string text, ProfilerOptions? options = null) =>
        Error(Encoding.UTF8.GetBytes(text), options);

    public static DatasetFormatException Error(byte[] bytes, ProfilerOptions? options = null) =>
        Assert.Throws<DatasetFormatException>(() => Profile(bytes, options));

    public static ColumnProfile Column(this DatasetProfile profile, string name) =>
        Assert.Single(profile.Columns, c => c.Name == name);

    /// <summary>Records hold lists, which compare by reference; JSON compares them by content, doubles exactly.</summary>
    public static string Json(DatasetProfile profile) => JsonSerializer.Serialize(profile);
}
