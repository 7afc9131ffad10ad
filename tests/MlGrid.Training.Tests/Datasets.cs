using System.Globalization;
using System.Text;
using MlGrid.Datasets;

namespace MlGrid.Training.Tests;

/// <summary>Generated CSV datasets with a known rule behind the label, written to a temporary file and profiled as an upload is.</summary>
internal sealed class GeneratedDataset : IDisposable
{
    private GeneratedDataset(string path, DatasetProfile profile)
    {
        Path = path;
        Profile = profile;
    }

    public string Path { get; }

    public DatasetProfile Profile { get; }

    /// <summary>
    /// Columns x1, x2 (floats), n (integer), city (string), member (boolean) and label: for "binary", true when
    /// x1 + x2 + (member ? 0.5 : 0) &gt; 1.25; for "multiclass", "low"/"mid"/"high" by x1 + x2; for "regression",
    /// 3·x1 − 2·x2 + 0.1·n + (city == "b" ? 1 : 0) plus a little noise. Some x2 values are missing when asked.
    /// </summary>
    public static async Task<GeneratedDataset> CreateAsync(string kind, int rows, bool missingValues = false, int seed = 7)
    {
        var random = new Random(seed);
        var text = new StringBuilder("x1,x2,n,city,member,label\n");
        for (var i = 0; i < rows; i++)
        {
            var x1 = random.NextDouble();
            var x2 = random.NextDouble();
            var n = random.Next(0, 10);
            var city = "abc"[random.Next(3)].ToString();
            var member = random.Next(2) == 1;
            object label = kind switch
            {
                "binary" => x1 + x2 + (member ? 0.5 : 0) > 1.25 ? "true" : "false",
                "binary01" => x1 + x2 > 1 ? "1" : "0",
                "multiclass" => (x1 + x2) switch { < 0.7 => "low", < 1.3 => "mid", _ => "high" },
                _ => (3 * x1 - 2 * x2 + 0.1 * n + (city == "b" ? 1 : 0) + (random.NextDouble() - 0.5) * 0.01).ToString("R", CultureInfo.InvariantCulture),
            };
            var x2Text = missingValues && i % 10 == 3 ? "" : x2.ToString("R", CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $"{x1.ToString("R", CultureInfo.InvariantCulture)},{x2Text},{n},{city},{(member ? "true" : "false")},{label}\n");
        }

        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mlgrid-training-{Guid.NewGuid():N}.csv");
        await File.WriteAllTextAsync(path, text.ToString());
        await using var stream = File.OpenRead(path);
        return new GeneratedDataset(path, await CsvProfiler.ProfileAsync(stream, CancellationToken.None));
    }

    public void Dispose() => File.Delete(Path);
}
