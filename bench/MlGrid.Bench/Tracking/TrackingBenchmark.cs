using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MlGrid.Bench.Serving;

namespace MlGrid.Bench.Tracking;

/// <summary>
/// `tracking`: one run gets 100,000 metric points through the gateway's MLflow API, in batches of 1,000 (as MLflow's
/// clients send them) and one by one, and its history is read back. The same calls at 10,000 points give the ratio
/// that shows whether cost grows with the history.
/// </summary>
public static class TrackingBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var points = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
        var singles = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2_000;
        await using var system = await MlGridSystem.StartAsync(null, CancellationToken.None);
        using var client = new HttpClient { BaseAddress = system.Gateway, Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", system.AdminKey);

        var experiment = await PostAsync(client, "experiments/create", new { name = $"bench-{Guid.NewGuid():N}" });
        var experimentId = experiment.GetProperty("experiment_id").GetString()!;

        // Warm-up: a small run so the first measured calls do not pay for activation and connections.
        await LogAndReadAsync(client, experimentId, 2_000, 20);

        var small = await LogAndReadAsync(client, experimentId, points / 10, singles);
        var large = await LogAndReadAsync(client, experimentId, points, singles);
        Console.WriteLine();
        Console.WriteLine("| points | log-batch (1,000 each) | points/s | log-metric one by one | calls/s | get-history | points read |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var result in new[] { small, large })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {result.Points:N0} | {result.BatchSeconds:F2} s | {result.Points / result.BatchSeconds:N0} | {result.Singles:N0} in {result.SingleSeconds:F2} s | {result.Singles / result.SingleSeconds:N0} | {result.ReadSeconds * 1000:F0} ms | {result.Read:N0} |"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Per-point logging cost at {large.Points:N0} vs {small.Points:N0} points: {large.BatchSeconds / large.Points / (small.BatchSeconds / small.Points):F2}x; one-by-one call rate: {large.Singles / large.SingleSeconds / (small.Singles / small.SingleSeconds):F2}x; read time per point: {large.ReadSeconds / large.Read / (small.ReadSeconds / small.Read):F2}x"));
        return 0;
    }

    private static async Task<Result> LogAndReadAsync(HttpClient client, string experimentId, int points, int singles)
    {
        var run = await PostAsync(client, "runs/create", new { experiment_id = experimentId, start_time = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
        var runId = run.GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;

        var watch = Stopwatch.StartNew();
        for (var start = 0; start < points; start += 1000)
        {
            var metrics = Enumerable.Range(start, Math.Min(1000, points - start))
                .Select(step => new { key = "loss", value = 1.0 / (step + 1), timestamp = 1_700_000_000_000L + step, step })
                .ToArray();
            await PostAsync(client, "runs/log-batch", new { run_id = runId, metrics });
        }

        var batchSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        for (var i = 0; i < singles; i++)
        {
            await PostAsync(client, "runs/log-metric", new { run_id = runId, key = "loss", value = 0.5, timestamp = 1_800_000_000_000L + i, step = points + i });
        }

        var singleSeconds = watch.Elapsed.TotalSeconds;
        watch.Restart();
        using var history = await client.GetAsync($"/api/2.0/mlflow/metrics/get-history?run_id={runId}&metric_key=loss");
        history.EnsureSuccessStatusCode();
        await using var body = await history.Content.ReadAsStreamAsync();
        using var document = await JsonDocument.ParseAsync(body);
        var read = document.RootElement.GetProperty("metrics").GetArrayLength();
        var readSeconds = watch.Elapsed.TotalSeconds;
        if (read != points + singles)
        {
            throw new InvalidOperationException($"Read back {read} points, logged {points + singles}.");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{points:N0} points: batches {batchSeconds:F2} s, {singles:N0} single calls {singleSeconds:F2} s, read {read:N0} in {readSeconds * 1000:F0} ms"));
        return new Result(points, batchSeconds, singles, singleSeconds, read, readSeconds);
    }

    private static async Task<JsonElement> PostAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync("/api/2.0/mlflow/" + path, body);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {text}");
        }

        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private sealed record Result(int Points, double BatchSeconds, int Singles, double SingleSeconds, int Read, double ReadSeconds);
}
