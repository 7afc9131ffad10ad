using System.Text.Json;
using MlGrid.Contracts;
using MlGrid.ControlPlane.Governance;
using MlGrid.Tracking;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>MLflow's runs: create, get, update, delete, restore, search, and logging metrics, params, tags and dataset inputs.</summary>
internal static class MlflowRunsApi
{
    public static void Map(RouteGroupBuilder mlflow)
    {
        var api = mlflow.MapGroup("/runs");
        api.MapPost("/create", Create);
        api.MapGet("/get", Get);
        api.MapPost("/update", Update);
        api.MapPost("/delete", Delete);
        api.MapPost("/restore", Restore);
        api.MapPost("/search", Search);
        api.MapGet("/search", Search);
        api.MapPost("/log-metric", LogMetric);
        api.MapPost("/log-parameter", LogParameter);
        api.MapPost("/log-batch", LogBatch);
        api.MapPost("/set-tag", SetTag);
        api.MapPost("/delete-tag", DeleteTag);
        api.MapPost("/log-inputs", LogInputs);
    }

    public static async Task<IResult> Create([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var experimentId = request.String("experiment_id") is { Length: > 0 } id ? id : IExperimentCatalogGrain.DefaultExperimentId;
        var runName = request.String("run_name");
        TrackingLimits.EnsureRunName(runName);
        var tags = request.Tags("tags");
        EnsureTags(tags);
        var user = request.String("user_id") is { Length: > 0 } given ? given : services.Context.GetPrincipal()?.Name ?? "";
        var start = request.Long("start_time") ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var runId = Guid.NewGuid().ToString("N");
        var run = await services.Grains.GetGrain<IRunGrain>(runId).Create(new NewRun(experimentId, user, runName, start, tags));
        services.Context.SetAuditDetail($"run {runId} '{run.Info.RunName}' created in experiment {experimentId}");
        return MlflowJson.Ok(new { run = RunShape.From(run) });
    }

    public static async Task<IResult> Get([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        return MlflowJson.Ok(new { run = RunShape.From(await services.RunAsync(request.RunId())) });
    }

    public static async Task<IResult> Update([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runId = request.RunId();
        var status = request.String("status");
        if (status is not null && !RunStatuses.All.Contains(status))
        {
            throw new TrackingException($"Invalid value '{status}' for parameter 'status': use one of {string.Join(", ", RunStatuses.All)}.");
        }

        var runName = request.String("run_name");
        TrackingLimits.EnsureRunName(runName);
        var info = await services.Grains.GetGrain<IRunGrain>(runId).Update(new RunUpdate(status, request.Long("end_time"), runName));
        return MlflowJson.Ok(new { run_info = RunInfoShape.From(info) });
    }

    public static async Task<IResult> Delete([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runId = request.RunId();
        await services.Grains.GetGrain<IRunGrain>(runId).Delete();
        return MlflowJson.Empty();
    }

    public static async Task<IResult> Restore([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runId = request.RunId();
        await services.Grains.GetGrain<IRunGrain>(runId).Restore();
        return MlflowJson.Empty();
    }

    public static async Task<IResult> Search([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var experimentIds = request.StringList("experiment_ids");
        var view = request.View("run_view_type");
        var filter = SearchFilter.Parse(request.String("filter"), SearchKind.Runs);
        var order = SearchOrder.Parse(request.StringList("order_by"), SearchKind.Runs);
        var maxResults = request.Long("max_results");
        var pageToken = request.String("page_token");

        var runIds = await Task.WhenAll(experimentIds.Distinct().Select(id => services.Grains.GetGrain<IExperimentGrain>(id).Runs()));
        var runs = await Task.WhenAll(runIds.SelectMany(ids => ids).Select(id => services.Grains.GetGrain<IRunGrain>(id).Get()));
        var matching = runs
            .OfType<RunRecord>()
            .Where(r => view.Includes(r.Info.LifecycleStage))
            .Select(r => new RunTarget(r))
            .Where(filter.Matches);
        var page = SearchPaging.Page(order.Sort(matching), maxResults, pageToken, SearchKind.Runs);
        return MlflowJson.Ok(new
        {
            runs = MlflowJson.NullIfEmpty(page.Items.Select(t => RunShape.From(t.Run))),
            next_page_token = page.NextPageToken,
        });
    }

    public static async Task<IResult> LogMetric([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runId = request.RunId();
        var metric = ReadMetric(request.RequiredString("key"), request.RequiredDouble("value"), request.Long("timestamp"), request.Long("step"));
        await LogAsync(services, runId, new RunBatch([metric], [], []));
        return MlflowJson.Empty();
    }

    public static async Task<IResult> LogParameter([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runId = request.RunId();
        var param = new TrackingTag(request.RequiredString("key"), request.String("value") ?? "");
        EnsureParams([param]);
        await LogAsync(services, runId, new RunBatch([], [param], []));
        return MlflowJson.Empty();
    }

    public static async Task<IResult> SetTag([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runId = request.RunId();
        var tag = new TrackingTag(request.RequiredString("key"), request.String("value") ?? "");
        EnsureTags([tag]);
        await LogAsync(services, runId, new RunBatch([], [], [tag]));
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteTag([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runId = request.RunId();
        var key = request.RequiredString("key");
        await services.Grains.GetGrain<IRunGrain>(runId).DeleteTag(key);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> LogBatch([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runId = request.RunId();
        var metricObjects = request.Objects("metrics");
        var parameters = request.Tags("params");
        var tags = request.Tags("tags");
        TrackingLimits.EnsureBatch(metricObjects.Count, parameters.Count, tags.Count);

        var metrics = metricObjects.Select(ReadMetric).ToList();
        EnsureParams(parameters);
        EnsureTags(tags);
        var duplicate = parameters.GroupBy(p => p.Key, StringComparer.Ordinal).FirstOrDefault(g => g.Select(p => p.Value).Distinct().Count() > 1);
        if (duplicate is not null)
        {
            throw new TrackingException(
                $"Duplicate parameter keys have been submitted: ['{duplicate.Key}']. Please ensure the request contains only one param value per param key.");
        }

        await LogAsync(services, runId, new RunBatch(metrics, [.. parameters.DistinctBy(p => p.Key)], tags));
        return MlflowJson.Empty();
    }

    public static async Task<IResult> LogInputs([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var runId = request.RunId();
        var datasets = request.Objects("datasets");
        if (datasets.Count > TrackingLimits.MaxDatasetsPerRequest)
        {
            throw new TrackingException($"A log-inputs request can contain at most {TrackingLimits.MaxDatasetsPerRequest} datasets. Got {datasets.Count}.");
        }

        var inputs = new List<RunDatasetInput>();
        foreach (var input in datasets)
        {
            inputs.Add(await ReadDatasetInputAsync(services, input));
        }

        await services.Grains.GetGrain<IRunGrain>(runId).LogInputs(inputs);
        return MlflowJson.Empty();
    }

    /// <summary>The run grain refuses unknown and deleted runs itself, so no read comes first.</summary>
    private static Task LogAsync(MlflowServices services, string runId, RunBatch batch) =>
        services.Grains.GetGrain<IRunGrain>(runId).LogBatch(batch);

    private static MetricPoint ReadMetric(JsonElement metric)
    {
        var key = MlflowRequest.FieldString(metric, "key") ?? throw MlflowRequest.Missing("metrics.key");
        var valueText = metric.TryGetProperty("value", out var value) && value.ValueKind is JsonValueKind.Number or JsonValueKind.String
            ? value.ValueKind == JsonValueKind.Number ? null : value.GetString()
            : throw MlflowRequest.Missing("metrics.value");
        var number = valueText is null ? value.GetDouble() : MlflowRequest.ParseDouble("metrics.value", valueText);
        long? Long(string name) => MlflowRequest.FieldString(metric, name) is { } text ? MlflowRequest.ParseLong($"metrics.{name}", text) : null;
        return ReadMetric(key, number, Long("timestamp"), Long("step"));
    }

    private static MetricPoint ReadMetric(string key, double value, long? timestamp, long? step)
    {
        TrackingLimits.EnsureMetricKey(key);
        return new MetricPoint(key, value, timestamp ?? throw MlflowRequest.Missing("timestamp"), step ?? 0);
    }

    private static void EnsureParams(IEnumerable<TrackingTag> parameters)
    {
        foreach (var param in parameters)
        {
            TrackingLimits.EnsureParamKey(param.Key);
            TrackingLimits.EnsureParamValue(param.Key, param.Value);
        }
    }

    private static void EnsureTags(IEnumerable<TrackingTag> tags)
    {
        foreach (var tag in tags)
        {
            TrackingLimits.EnsureTagKey(tag.Key);
            TrackingLimits.EnsureTagValue(tag.Key, tag.Value);
        }
    }

    /// <summary>
    /// Reads one dataset input and links it to an MlGrid dataset version where its name is an MlGrid dataset: the
    /// version whose SHA-256 starts with the digest, else one named in the source (<c>/api/v1/datasets/{name}/versions/{v}</c>
    /// or <c>name@v</c>), else the latest version when it is logged.
    /// </summary>
    private static async Task<RunDatasetInput> ReadDatasetInputAsync(MlflowServices services, JsonElement input)
    {
        if (!input.TryGetProperty("dataset", out var dataset) || dataset.ValueKind != JsonValueKind.Object)
        {
            throw MlflowRequest.Missing("datasets.dataset");
        }

        var name = MlflowRequest.FieldString(dataset, "name") ?? throw MlflowRequest.Missing("datasets.dataset.name");
        var digest = MlflowRequest.FieldString(dataset, "digest") ?? throw MlflowRequest.Missing("datasets.dataset.digest");
        var sourceType = MlflowRequest.FieldString(dataset, "source_type") ?? "";
        var source = MlflowRequest.FieldString(dataset, "source") ?? "";
        var tags = input.TryGetProperty("tags", out var tagArray) && tagArray.ValueKind == JsonValueKind.Array
            ? tagArray.EnumerateArray().Select(t => new TrackingTag(
                MlflowRequest.FieldString(t, "key") ?? throw MlflowRequest.Missing("datasets.tags.key"),
                MlflowRequest.FieldString(t, "value") ?? "")).ToList()
            : [];
        EnsureTags(tags);
        if (name.Length > 500 || digest.Length > 36 || source.Length > 65535)
        {
            throw new TrackingException("A dataset's name is limited to 500 characters, its digest to 36 and its source to 65,535.");
        }

        var (datasetName, pinned) = SplitPinnedName(name);
        DatasetVersionRef? linked = null;
        if (Names.IsValid(datasetName) && await services.Grains.GetGrain<IDatasetGrain>(datasetName).Get() is { } known)
        {
            var version = pinned
                ?? known.Versions.FirstOrDefault(v => digest.Length >= 8 && v.Sha256.StartsWith(digest, StringComparison.OrdinalIgnoreCase))?.Version
                ?? VersionInSource(datasetName, source)
                ?? known.LatestVersion;
            if (known.Versions.Any(v => v.Version == version))
            {
                linked = new DatasetVersionRef(datasetName, version);
            }
        }

        return new RunDatasetInput(name, digest, sourceType, source,
            MlflowRequest.FieldString(dataset, "schema"), MlflowRequest.FieldString(dataset, "profile"), tags, linked);
    }

    private static (string Name, int? Version) SplitPinnedName(string name)
    {
        var at = name.LastIndexOf('@');
        return at > 0 && int.TryParse(name.AsSpan(at + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version)
            ? (name[..at], version)
            : (name, null);
    }

    private static int? VersionInSource(string name, string source)
    {
        var marker = $"/api/v1/datasets/{name}/versions/";
        var at = source.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var rest = source.AsSpan(at + marker.Length);
        var end = rest.IndexOfAnyExceptInRange('0', '9');
        return int.TryParse(end < 0 ? rest : rest[..end], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version)
            ? version
            : null;
    }

    /// <summary>A run as the search engine sees it.</summary>
    private sealed class RunTarget(RunRecord run) : ISearchTarget
    {
        public RunRecord Run => run;

        public double? Number(SearchEntity entity, string key) => entity switch
        {
            SearchEntity.Metric => run.Metrics.FirstOrDefault(m => m.Key == key)?.Value,
            SearchEntity.Attribute => key switch
            {
                "start_time" => run.Info.StartTime,
                "end_time" => run.Info.EndTime,
                _ => null,
            },
            _ => null,
        };

        public string? Text(SearchEntity entity, string key) => entity switch
        {
            SearchEntity.Param => run.Params.FirstOrDefault(p => p.Key == key)?.Value,
            SearchEntity.Tag => run.Tags.FirstOrDefault(t => t.Key == key)?.Value,
            SearchEntity.Attribute => key switch
            {
                "run_id" => run.Info.RunId,
                "run_name" => run.Info.RunName,
                "status" => run.Info.Status,
                "user_id" => run.Info.UserId,
                "artifact_uri" => run.Info.ArtifactUri,
                "lifecycle_stage" => run.Info.LifecycleStage,
                "experiment_id" => run.Info.ExperimentId,
                _ => null,
            },
            _ => null,
        };

        public IEnumerable<SearchDataset> Datasets => run.Inputs.Select(i => new SearchDataset(
            i.Name, i.Digest, i.Tags.FirstOrDefault(t => t.Key == "mlflow.data.context")?.Value));
    }
}
