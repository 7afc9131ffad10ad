using MlGrid.Contracts;
using MlGrid.Tracking;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>Metric histories, read straight from their append blobs.</summary>
internal static class MlflowMetricsApi
{
    /// <summary>MLflow's limits for <c>get-history-bulk-interval</c>.</summary>
    public const int MaxRunsPerBulkRequest = 100;
    public const int DefaultBulkResults = 320;
    public const int MaxBulkResults = 1000;

    /// <summary>The largest page of <c>get-history</c>; without <c>max_results</c> the whole history comes at once, as in MLflow.</summary>
    public const int MaxHistoryPage = 25_000;

    public static void Map(RouteGroupBuilder mlflow)
    {
        var api = mlflow.MapGroup("/metrics");
        api.MapGet("/get-history", GetHistory);
        api.MapGet("/get-history-bulk-interval", GetHistoryBulkInterval);
    }

    public static async Task<IResult> GetHistory([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runId = request.RunId();
        var key = request.RequiredString("metric_key");
        var maxResults = request.Int("max_results");
        if (maxResults is < 1 or > MaxHistoryPage)
        {
            throw new TrackingException($"Invalid value {maxResults} for parameter 'max_results': use 1 to {MaxHistoryPage}.");
        }

        await services.RunAsync(runId);
        var points = Ordered(await services.History.ReadAsync(runId, key, services.Aborted));
        var offset = PageToken.Decode(request.String("page_token"));
        var size = maxResults ?? int.MaxValue;
        var page = points.Skip(offset).Take(size).ToList();
        var next = maxResults is not null && offset + page.Count < points.Count ? PageToken.Encode(offset + page.Count) : null;
        return MlflowJson.Ok(new
        {
            metrics = MlflowJson.NullIfEmpty(page.Select(p => MetricShape.From(p))),
            next_page_token = next,
        });
    }

    /// <summary>
    /// Up to <c>max_results</c> points per run between <c>start_step</c> and <c>end_step</c>: every step when there are
    /// few enough, else steps sampled at an even interval that always keeps the first and the last.
    /// </summary>
    public static async Task<IResult> GetHistoryBulkInterval([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runIds = request.StringList("run_ids");
        if (runIds.Count == 0)
        {
            throw MlflowRequest.Missing("run_ids");
        }

        if (runIds.Count > MaxRunsPerBulkRequest)
        {
            throw new TrackingException($"GetMetricHistoryBulkInterval request must specify at most {MaxRunsPerBulkRequest} run_ids. Received {runIds.Count} run_ids.");
        }

        var key = request.RequiredString("metric_key");
        var maxResults = request.Int("max_results") ?? DefaultBulkResults;
        if (maxResults is < 1 or > MaxBulkResults)
        {
            throw new TrackingException($"max_results must be between 1 and {MaxBulkResults}. Received {maxResults}.");
        }

        var startStep = request.Long("start_step");
        var endStep = request.Long("end_step");
        if ((startStep is null) != (endStep is null))
        {
            throw new TrackingException("If either start step or end step are specified, both must be specified.");
        }

        if (startStep > endStep)
        {
            throw new TrackingException($"end_step must be greater than start_step. Found start_step={startStep} and end_step={endStep}.");
        }

        var result = new List<MetricShape>();
        foreach (var runId in runIds.Distinct().Order(StringComparer.Ordinal))
        {
            await services.RunAsync(runId);
            var points = (await services.History.ReadAsync(runId, key, services.Aborted))
                .Where(p => startStep is null || (p.Step >= startStep && p.Step <= endStep))
                .ToList();
            var steps = SampleSteps([.. points.Select(p => p.Step).Distinct().Order()], maxResults);
            result.AddRange(Ordered(points.Where(p => steps.Contains(p.Step))).Select(p => MetricShape.From(p, runId)));
        }

        return MlflowJson.Ok(new { metrics = MlflowJson.NullIfEmpty(result) });
    }

    internal static HashSet<long> SampleSteps(IReadOnlyList<long> steps, int maxResults)
    {
        if (steps.Count <= maxResults)
        {
            return [.. steps];
        }

        var chosen = new HashSet<long> { steps[0], steps[^1] };
        var interval = (steps.Count - 1) / (double)(maxResults - 1);
        for (var i = 1; chosen.Count < maxResults && i < maxResults - 1; i++)
        {
            chosen.Add(steps[(int)Math.Round(i * interval)]);
        }

        return chosen;
    }

    /// <summary>MLflow's order for a history: by step, then timestamp, then the order logged.</summary>
    private static List<MetricPoint> Ordered(IEnumerable<MetricPoint> points) =>
        [.. points.Select((p, i) => (p, i)).OrderBy(x => x.p.Step).ThenBy(x => x.p.Timestamp).ThenBy(x => x.i).Select(x => x.p)];
}
