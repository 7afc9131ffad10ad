using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using MlGrid.Contracts;
using MlGrid.ControlPlane.Governance;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane.Apis;

/// <summary>Training jobs: submit (checked before anything is queued), watch, list, cancel, and follow the log.</summary>
public static class TrainingJobsApi
{
    /// <summary>Response header of a log read: the offset to ask for next to get only what is new.</summary>
    public const string NextOffsetHeader = "x-mlgrid-log-next-offset";

    private static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(500);

    public static RouteGroupBuilder MapTrainingJobsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/training-jobs").WithTags("Training jobs");
        api.MapPost("/", Submit);
        api.MapGet("/", List);
        api.MapGet("/{id}", Get);
        api.MapPost("/{id}/cancel", Cancel);
        api.MapGet("/{id}/logs", Logs);
        return api;
    }

    /// <summary>Checks the spec against the dataset version, then creates the job (and its MLflow run) queued: 202 with its id.</summary>
    public static async Task<Results<Accepted<TrainingJobInfo>, ProblemHttpResult>> Submit(JsonElement body, HttpContext context, IGrainFactory grains)
    {
        var (read, problems) = TrainingJobRequest.Read(body);
        if (read is null)
        {
            return Refused(problems);
        }

        var dataset = grains.GetGrain<IDatasetGrain>(read.Dataset);
        DatasetVersionInfo? version;
        if (read.DatasetVersion == 0)
        {
            var latest = await dataset.Get();
            version = latest?.Versions.LastOrDefault(v => v.Version == latest.LatestVersion);
        }
        else
        {
            version = await dataset.GetVersion(read.DatasetVersion);
        }

        if (version is null)
        {
            return Refused([read.DatasetVersion == 0
                ? $"Dataset '{read.Dataset}' does not exist; upload a version with POST /api/v1/datasets/{read.Dataset}/versions."
                : $"Dataset '{read.Dataset}' has no version {read.DatasetVersion}."]);
        }

        var spec = read with { DatasetVersion = version.Version };
        var (trials, checkProblems) = TrainingJobRequest.Check(spec, version);
        if (checkProblems.Count > 0)
        {
            return Refused(checkProblems);
        }

        var id = NewId();
        var info = await grains.GetGrain<ITrainingJobGrain>(id).Submit(new TrainingJobSubmission(spec, Trials: trials));
        context.SetAuditDetail($"training job {id}: {spec.Trainer} {spec.Task} on {spec.DatasetRef}"
            + (spec.Sweep is { } sweep ? $", sweep of {trials!.Count} trials" : "")
            + (spec.RegisterAs is { } model ? $", registering as {model}" : ""));
        return TypedResults.Accepted($"/api/v1/training-jobs/{id}", info);
    }

    public static async Task<Results<Ok<TrainingJobInfo>, ProblemHttpResult>> Get(string id, IGrainFactory grains) =>
        IsJobId(id) && await grains.GetGrain<ITrainingJobGrain>(id).Get() is { } info
            ? TypedResults.Ok(info)
            : NotFound(id);

    /// <summary>Jobs newest first, filtered by any of status, experiment, dataset (name or name@version), model, trainer and parent (a sweep's trials).</summary>
    public static async Task<Results<Ok<List<TrainingJobSummary>>, ProblemHttpResult>> List(
        IGrainFactory grains, string? status, string? experiment, string? dataset, string? model, string? trainer, string? parent, int? limit)
    {
        if (status is not null && !TrainingJobStatuses.All.Contains(status))
        {
            return Problems.Of(StatusCodes.Status400BadRequest, $"Unknown status '{status}': use one of {string.Join(", ", TrainingJobStatuses.All)}.");
        }

        if (limit is < 1)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "'limit' must be at least 1.");
        }

        var jobs = await grains.GetGrain<ITrainingJobCatalogGrain>(ITrainingJobCatalogGrain.Key).List();
        var selected = jobs
            .Where(j => status is null || j.Status == status)
            .Where(j => experiment is null || j.Experiment == experiment)
            .Where(j => dataset is null || j.Dataset == dataset || j.Dataset.StartsWith(dataset + "@", StringComparison.Ordinal))
            .Where(j => model is null || j.RegisterAs == model)
            .Where(j => trainer is null || string.Equals(j.Trainer, trainer, StringComparison.OrdinalIgnoreCase))
            .Where(j => parent is null || j.ParentJobId == parent)
            .Take(limit ?? int.MaxValue)
            .ToList();
        return TypedResults.Ok(selected);
    }

    /// <summary>Stops a queued or running job; the worker's training stops within seconds.</summary>
    public static async Task<Results<Ok<TrainingJobInfo>, ProblemHttpResult>> Cancel(string id, HttpContext context, IGrainFactory grains)
    {
        if (!IsJobId(id))
        {
            return NotFound(id);
        }

        // The grain refuses a job that does not exist (404) or has ended (409) itself.
        var info = await grains.GetGrain<ITrainingJobGrain>(id).Cancel();
        context.SetAuditDetail($"training job {id} cancelled");
        return TypedResults.Ok(info);
    }

    /// <summary>
    /// The job's log as text from <paramref name="offset"/> bytes on. With <c>follow=true</c> the response stays open
    /// and streams new lines until the job is final; the next offset is in the <see cref="NextOffsetHeader"/> header.
    /// </summary>
    public static async Task<IResult> Logs(
        string id, long? offset, bool? follow, HttpContext context, IGrainFactory grains, TrainingLogStore logs, CancellationToken cancellationToken)
    {
        var job = grains.GetGrain<ITrainingJobGrain>(id);
        if (!IsJobId(id) || await job.Get() is null)
        {
            return NotFound(id);
        }

        if (offset is < 0)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "'offset' must be 0 or more: the x-mlgrid-log-next-offset of an earlier read.");
        }

        var position = offset ?? 0;
        var response = context.Response;
        response.ContentType = "text/plain; charset=utf-8";
        if (follow != true)
        {
            var chunk = await logs.ReadAsync(id, position, cancellationToken);
            response.Headers[NextOffsetHeader] = chunk.NextOffset.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.Text(chunk.Text, "text/plain", Encoding.UTF8);
        }

        // Streamed: proxies must not buffer it, and nothing after the first byte can change the status.
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(cancellationToken);
        while (!cancellationToken.IsCancellationRequested)
        {
            // Read the status before the log: a job that is final now has written all its lines already.
            var final = await job.Get() is { } info && TrainingJobStatuses.IsFinal(info.Status) && NoTrialsRunning(info);
            var chunk = await logs.ReadAsync(id, position, cancellationToken);
            if (chunk.Text.Length > 0)
            {
                await response.WriteAsync(chunk.Text, cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
                position = chunk.NextOffset;
            }

            if (final)
            {
                break;
            }

            await Task.Delay(FollowPoll, cancellationToken);
        }

        return Results.Empty;
    }

    private static bool NoTrialsRunning(TrainingJobInfo info) => info.Trials.All(t => TrainingJobStatuses.IsFinal(t.Status) || t.JobId is null);

    private static string NewId() => "job-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    /// <summary>Ids are ours ("job-" and hex, "-trial-N" for a sweep's trials); anything else is not a job and never wakes a grain.</summary>
    private static bool IsJobId(string id) => id.Length <= 80 && id.StartsWith("job-", StringComparison.Ordinal) && Names.IsValid(id);

    private static ProblemHttpResult NotFound(string id) =>
        Problems.Of(StatusCodes.Status404NotFound, $"Training job '{id}' does not exist; GET /api/v1/training-jobs lists them.");

    private static ProblemHttpResult Refused(IReadOnlyList<string> problems) =>
        TypedResults.Problem(
            detail: string.Join(" ", problems),
            statusCode: StatusCodes.Status400BadRequest,
            title: Problems.Title(StatusCodes.Status400BadRequest),
            extensions: new Dictionary<string, object?> { ["errors"] = problems });
}
