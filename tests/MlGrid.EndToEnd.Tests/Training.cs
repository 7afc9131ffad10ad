using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace MlGrid.EndToEnd.Tests;

/// <summary>A generated binary-classification table: the label follows a rule of two numbers and a category, with some noise.</summary>
internal sealed record ChurnRow(float Tenure, float Spend, string Plan, bool Label);

internal static class Training
{
    /// <summary>
    /// Rows whose label is <c>tenure - 2·spend + (plan == "basic" ? -1 : 1) + noise &gt; 0</c>: learnable to about 90%
    /// accuracy, not perfectly. The same seed gives the same rows.
    /// </summary>
    public static List<ChurnRow> Rows(int count, int seed)
    {
        var random = new Random(seed);
        string[] plans = ["basic", "plus", "pro"];
        var rows = new List<ChurnRow>(count);
        for (var i = 0; i < count; i++)
        {
            var tenure = (float)Math.Round(random.NextDouble() * 4 - 2, 3);
            var spend = (float)Math.Round(random.NextDouble() * 2 - 1, 3);
            var plan = plans[random.Next(plans.Length)];
            var noise = (random.NextDouble() - 0.5) * 0.6;
            rows.Add(new ChurnRow(tenure, spend, plan, tenure - 2 * spend + (plan == "basic" ? -1 : 1) + noise > 0));
        }

        return rows;
    }

    public static string Csv(IEnumerable<ChurnRow> rows)
    {
        var text = new StringBuilder("tenure,spend,plan,label\n");
        foreach (var row in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{row.Tenure},{row.Spend},{row.Plan},{(row.Label ? 1 : 0)}\n");
        }

        return text.ToString();
    }

    /// <summary>The rows as a Parquet file (tenure and spend DOUBLE, plan STRING, label BOOLEAN) in two row groups.</summary>
    public static async Task<byte[]> ParquetAsync(IReadOnlyList<ChurnRow> rows)
    {
        var tenure = new Parquet.Schema.DataField<double>("tenure");
        var spend = new Parquet.Schema.DataField<double>("spend");
        var plan = new Parquet.Schema.DataField<string>("plan", nullable: true);
        var label = new Parquet.Schema.DataField<bool>("label");
        using var file = new MemoryStream();
        await using (var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(tenure, spend, plan, label), file))
        {
            foreach (var group in rows.Chunk((rows.Count + 1) / 2))
            {
                using var rowGroup = writer.CreateRowGroup();
                await rowGroup.WriteAsync<double>(tenure, group.Select(r => (double)r.Tenure).ToArray().AsMemory());
                await rowGroup.WriteAsync<double>(spend, group.Select(r => (double)r.Spend).ToArray().AsMemory());
                await rowGroup.WriteAsync(plan, group.Select(r => r.Plan).ToArray());
                await rowGroup.WriteAsync<bool>(label, group.Select(r => r.Label).ToArray().AsMemory());
            }
        }

        return file.ToArray();
    }

    public static async Task UploadAsync(MlGridApp app, string dataset, string csv)
    {
        using var content = new StringContent(csv, Encoding.UTF8);
        content.Headers.ContentType = new("text/csv");
        using var response = await app.Gateway.PostAsync($"/api/v1/datasets/{dataset}/versions", content);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    public static async Task<JsonElement> SubmitAsync(MlGridApp app, object spec)
    {
        using var response = await app.Gateway.PostAsJsonAsync("/api/v1/training-jobs", spec);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Submit gave {(int)response.StatusCode}: {body}");
        var job = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal($"/api/v1/training-jobs/{job.GetProperty("id").GetString()}", response.Headers.Location?.OriginalString);
        return job;
    }

    public static async Task<JsonElement> GetAsync(MlGridApp app, string id) =>
        await app.Gateway.GetFromJsonAsync<JsonElement>($"/api/v1/training-jobs/{id}");

    /// <summary>Polls the job until <paramref name="done"/> holds; the assertion message shows the job and its log.</summary>
    public static async Task<JsonElement> WaitForAsync(MlGridApp app, string id, Func<JsonElement, bool> done, TimeSpan timeout, string what)
    {
        JsonElement last = default;
        try
        {
            await app.WaitUntilAsync(async () => done(last = await GetAsync(app, id)), timeout, () => $"Job {id}: {what}. Last seen: {last}");
        }
        catch (Exception) when (last.ValueKind == JsonValueKind.Object)
        {
            var log = await app.Gateway.GetStringAsync($"/api/v1/training-jobs/{id}/logs");
            throw new Xunit.Sdk.XunitException($"Job {id}: {what}. Last seen: {last}\nLog:\n{log}");
        }

        return last;
    }

    public static Task<JsonElement> WaitForStatusAsync(MlGridApp app, string id, string status, TimeSpan timeout) =>
        WaitForAsync(app, id, j => j.GetProperty("status").GetString() == status, timeout, $"expected {status}");

    /// <summary>Held-out rows through the gateway as one batch; the share the deployed model labels correctly.</summary>
    public static async Task<double> AccuracyThroughGatewayAsync(MlGridApp app, string endpoint, IReadOnlyList<ChurnRow> rows)
    {
        var shape = new[] { rows.Count, 1 };
        using var response = await app.InferAsync(endpoint, new
        {
            inputs = new object[]
            {
                new { name = "tenure", datatype = "FP32", shape, data = rows.Select(r => r.Tenure).ToArray() },
                new { name = "spend", datatype = "FP32", shape, data = rows.Select(r => r.Spend).ToArray() },
                new { name = "plan", datatype = "BYTES", shape, data = rows.Select(r => r.Plan).ToArray() },
            },
            outputs = new[] { new { name = "PredictedLabel.output" } },
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Inference gave {(int)response.StatusCode}: {body}");
        var output = Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("outputs").EnumerateArray());
        Assert.Equal("BOOL", output.GetProperty("datatype").GetString());
        var predicted = output.GetProperty("data").EnumerateArray().Select(e => e.GetBoolean()).ToList();
        Assert.Equal(rows.Count, predicted.Count);
        return rows.Zip(predicted).Count(p => p.First.Label == p.Second) / (double)rows.Count;
    }
}
