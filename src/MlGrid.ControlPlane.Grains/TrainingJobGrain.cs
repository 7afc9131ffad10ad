using System.Globalization;
using Microsoft.Extensions.Logging;
using MlGrid.Contracts;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane.Grains;

public sealed class TrainingJobState
{
    public TrainingJobSpec? Spec { get; set; }

    public string Status { get; set; } = TrainingJobStatuses.Queued;

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    public string Phase { get; set; } = "queued";

    public int Percent { get; set; }

    public List<TrainingAttempt> Attempts { get; set; } = [];

    public string? ExperimentId { get; set; }

    public string? RunId { get; set; }

    public string? RunArtifactUri { get; set; }

    public ModelVersionRef? ModelVersion { get; set; }

    public Dictionary<string, double> Metrics { get; set; } = new(StringComparer.Ordinal);

    public string? Error { get; set; }

    public string? ParentJobId { get; set; }

    public string? ParentRunId { get; set; }

    public int? TrialNumber { get; set; }

    public List<TrainingTrial> Trials { get; set; } = [];

    public int? BestTrial { get; set; }

    public TrainingOutcome? Outcome { get; set; }
}

/// <summary>
/// A training job. Its state is persisted before every answer that changes it; the worker running an attempt reports
/// back here, and reports for an attempt that is no longer the current one (lost, cancelled, retried) are ignored. A
/// sweep job holds no training slot itself: it submits its trials as child jobs and keeps the best.
/// </summary>
[GrainType("mlgrid.training-job")]
public sealed class TrainingJobGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<TrainingJobState> state,
    TrainingLogStore logs,
    ILogger<TrainingJobGrain> logger) : Grain, ITrainingJobGrain
{
    public const string JobTag = "mlgrid.training-job";
    public const string DatasetTag = "mlgrid.dataset";
    public const string MetricTagPrefix = "mlgrid.metric.";
    private const string ParentRunTag = "mlflow.parentRunId";
    private const string AuditComponent = "training-scheduler";
    private const string TrialPending = "Pending";

    private string Id => this.GetPrimaryKeyString();

    private TrainingJobState S => state.State;

    private TrainingJobSpec Spec => S.Spec ?? throw RequestException.NotFound($"Training job '{Id}' does not exist.");

    private bool IsSweep => S.Spec?.Sweep is not null;

    public async Task<TrainingJobInfo> Submit(TrainingJobSubmission submission)
    {
        if (S.Spec is not null)
        {
            throw RequestException.AlreadyExists($"Training job '{Id}' already exists.");
        }

        var spec = submission.Spec;
        var experimentId = await FindOrCreateExperimentAsync(spec.Experiment);
        var runId = Guid.NewGuid().ToString("N");
        var now = DateTimeOffset.UtcNow;
        var tags = new List<TrackingTag>
        {
            new(JobTag, Id),
            new(DatasetTag, spec.DatasetRef),
            new("mlflow.source.type", "JOB"),
            new("mlflow.source.name", $"training-job/{Id}"),
        };
        if (submission.ParentRunId is { } parentRun)
        {
            tags.Add(new TrackingTag(ParentRunTag, parentRun));
        }

        var runName = submission.TrialNumber is { } trial ? $"{submission.ParentJobId}-trial-{trial}" : Id;
        var run = GrainFactory.GetGrain<IRunGrain>(runId);
        var created = await run.Create(new NewRun(experimentId, "mlgrid-training", runName, now.ToUnixTimeMilliseconds(), tags));
        await run.Update(new RunUpdate(RunStatuses.Scheduled, null, null));
        await run.LogBatch(new RunBatch([], Params(spec), []));
        await run.LogInputs([DatasetInput(spec)]);

        var trials = spec.Sweep is null
            ? []
            : (submission.Trials ?? throw RequestException.Invalid("A sweep job needs its trials."))
                .Select((h, i) => new TrainingTrial(i + 1, h, null, null, TrialPending, null)).ToList();
        await ChangeAsync(s =>
        {
            s.Spec = spec;
            s.Status = spec.Sweep is null ? TrainingJobStatuses.Queued : TrainingJobStatuses.Running;
            s.Phase = spec.Sweep is null ? "queued" : "starting trials";
            s.CreatedAt = now;
            s.StartedAt = spec.Sweep is null ? null : now;
            s.ExperimentId = experimentId;
            s.RunId = runId;
            s.RunArtifactUri = created.Info.ArtifactUri;
            s.ParentJobId = submission.ParentJobId;
            s.ParentRunId = submission.ParentRunId;
            s.TrialNumber = submission.TrialNumber;
            s.Trials = trials;
        });
        await Log(spec.Sweep is null
            ? $"Queued: {spec.Trainer} {spec.Task} on {spec.DatasetRef}, label '{spec.Label}', device {spec.Device}; MLflow run {runId} in experiment '{spec.Experiment}' ({experimentId})."
            : $"Sweep of {trials.Count} trials ({spec.Sweep.Strategy}, {spec.Sweep.Parallel} at a time) of {spec.Trainer} on {spec.DatasetRef}, keeping the best by {spec.Sweep.Metric} ({spec.Sweep.Goal}); parent MLflow run {runId}.");

        if (spec.Sweep is not null)
        {
            await run.Update(new RunUpdate(RunStatuses.Running, null, null));
            await StartMoreTrialsAsync();
        }

        return ToInfo();
    }

    public Task<TrainingJobInfo?> Get() => Task.FromResult(S.Spec is null ? null : ToInfo());

    public async Task<bool> Start(string worker)
    {
        if (S.Spec is null || IsSweep || S.Status != TrainingJobStatuses.Queued)
        {
            return false;
        }

        var spec = Spec;
        var dataset = await GrainFactory.GetGrain<IDatasetGrain>(spec.Dataset).GetVersion(spec.DatasetVersion);
        if (dataset is null)
        {
            await FinishAsync(TrainingJobStatuses.Failed, $"Dataset version {spec.DatasetRef} no longer exists.", RunStatuses.Failed);
            return false;
        }

        var attempt = S.Attempts.Count + 1;
        var assignment = new TrainingAssignment(Id, attempt, spec, dataset, S.RunId!, S.RunArtifactUri!);
        bool accepted;
        try
        {
            accepted = await GrainFactory.GetGrain<IWorkerGrain>(worker).StartTraining(assignment);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Training job {Job}: worker {Worker} could not start attempt {Attempt}", Id, worker, attempt);
            return false;
        }

        if (!accepted)
        {
            return false;
        }

        var now = DateTimeOffset.UtcNow;
        try
        {
            await ChangeAsync(s =>
            {
                s.Status = TrainingJobStatuses.Running;
                s.StartedAt ??= now;
                s.Attempts.Add(new TrainingAttempt(attempt, worker, now, null, null));
                s.Phase = "starting";
                s.Percent = 0;
            });
        }
        catch
        {
            await TryCancelOnWorkerAsync(worker, attempt);
            throw;
        }

        await Log($"Attempt {attempt} of at most {spec.MaxAttempts} started on worker {worker}.");
        await UpdateRunAsync(new RunUpdate(RunStatuses.Running, null, null));
        return true;
    }

    public Task ReportProgress(int attempt, string phase, int percent)
    {
        if (IsCurrent(attempt))
        {
            // Progress is shown, not kept: it is persisted with the next change, and a restart shows the last one saved.
            S.Phase = phase;
            S.Percent = Math.Clamp(percent, 0, 100);
        }

        return Task.CompletedTask;
    }

    public Task Waiting(string reason)
    {
        if (S.Spec is not null && S.Status == TrainingJobStatuses.Queued)
        {
            S.Phase = $"waiting: {reason}";
        }

        return Task.CompletedTask;
    }

    public async Task Complete(int attempt, TrainingOutcome outcome)
    {
        if (!IsCurrent(attempt))
        {
            logger.LogInformation("Training job {Job}: ignoring the result of attempt {Attempt}, which is no longer current", Id, attempt);
            return;
        }

        var spec = Spec;
        ModelVersionRef? registered = null;
        if (spec.RegisterAs is { } model && S.ParentJobId is null)
        {
            try
            {
                registered = await RegisterAsync(model, outcome, S.RunId!, spec);
            }
            catch (RequestException refused)
            {
                await EndAttemptAsync(attempt, $"The model trained, but registering it as '{model}' was refused: {refused.Message}", retryable: false);
                return;
            }
        }

        var now = DateTimeOffset.UtcNow;
        await ChangeAsync(s =>
        {
            s.Status = TrainingJobStatuses.Succeeded;
            s.EndedAt = now;
            s.Phase = "done";
            s.Percent = 100;
            s.Metrics = new Dictionary<string, double>(outcome.Metrics, StringComparer.Ordinal);
            s.Outcome = outcome;
            s.ModelVersion = registered;
            EndAttempt(s, attempt, now, "succeeded");
        });
        await Log($"Succeeded: {FormatMetrics(outcome.Metrics)}; ONNX {outcome.OnnxSizeBytes} bytes, predictions match ML.NET's on {outcome.ParityRows} validation rows (largest difference {outcome.ParityMaxDifference.ToString("G3", CultureInfo.InvariantCulture)})."
            + (registered is null ? "" : $" Registered as model '{registered.Name}' version {registered.Version}."));
        await UpdateRunAsync(new RunUpdate(RunStatuses.Finished, now.ToUnixTimeMilliseconds(), null));
        NotifyParent();
    }

    public async Task Fail(int attempt, string reason, bool retryable)
    {
        if (!IsCurrent(attempt))
        {
            logger.LogInformation("Training job {Job}: ignoring the failure of attempt {Attempt}, which is no longer current: {Reason}", Id, attempt, reason);
            return;
        }

        await EndAttemptAsync(attempt, reason, retryable);
    }

    public async Task AttemptLost(int attempt, string reason)
    {
        if (!IsCurrent(attempt))
        {
            return;
        }

        var worker = S.Attempts[^1].Worker;
        await EndAttemptAsync(attempt, reason, retryable: true);
        await GrainFactory.RecordAsync(logger, AuditComponent,
            S.Status == TrainingJobStatuses.Queued ? "training-job.retried" : "training-job.failed",
            $"training-jobs/{Id}", S.Status == TrainingJobStatuses.Queued ? AuditOutcomes.Succeeded : AuditOutcomes.Failed,
            $"Attempt {attempt} on worker {worker} was lost ({reason}); "
            + (S.Status == TrainingJobStatuses.Queued ? "the job is queued for another attempt." : "no attempts are left."));
    }

    public async Task<TrainingJobInfo> Cancel()
    {
        if (S.Spec is null)
        {
            throw RequestException.NotFound($"Training job '{Id}' does not exist.");
        }

        if (TrainingJobStatuses.IsFinal(S.Status))
        {
            throw RequestException.InvalidState($"Training job '{Id}' is already {S.Status}; only queued or running jobs can be cancelled.");
        }

        if (S.Status == TrainingJobStatuses.Running && !IsSweep && S.Attempts.Count > 0)
        {
            var current = S.Attempts[^1];
            await TryCancelOnWorkerAsync(current.Worker, current.Number);
        }

        await FinishAsync(TrainingJobStatuses.Cancelled, null, RunStatuses.Killed, "cancelled");
        await Log("Cancelled on request.");

        if (IsSweep)
        {
            foreach (var trial in S.Trials.Where(t => t.JobId is not null && !TrainingJobStatuses.IsFinal(t.Status)))
            {
                try
                {
                    await GrainFactory.GetGrain<ITrainingJobGrain>(trial.JobId!).Cancel();
                }
                catch (RequestException)
                {
                    // The trial ended on its own meanwhile.
                }
            }

            await RefreshTrialsAsync();
        }

        return ToInfo();
    }

    public async Task TrialEnded(string trialJobId)
    {
        if (IsSweep && S.Trials.Any(t => t.JobId == trialJobId))
        {
            await Reconcile();
        }
    }

    public async Task Reconcile()
    {
        if (!IsSweep || TrainingJobStatuses.IsFinal(S.Status))
        {
            return;
        }

        await RefreshTrialsAsync();
        if (S.Trials.All(t => TrainingJobStatuses.IsFinal(t.Status)))
        {
            await FinishSweepAsync();
        }
        else
        {
            await StartMoreTrialsAsync();
        }
    }

    private async Task EndAttemptAsync(int attempt, string reason, bool retryable)
    {
        var spec = Spec;
        var now = DateTimeOffset.UtcNow;
        if (retryable && S.Attempts.Count < spec.MaxAttempts)
        {
            await ChangeAsync(s =>
            {
                s.Status = TrainingJobStatuses.Queued;
                s.Phase = "queued for a retry";
                s.Percent = 0;
                EndAttempt(s, attempt, now, reason);
            });
            await Log($"Attempt {attempt} failed: {reason}. Queued for attempt {attempt + 1} of at most {spec.MaxAttempts}.");
            return;
        }

        var error = retryable
            ? $"{reason} (attempt {attempt}; all {spec.MaxAttempts} attempts are used). Submit the job again once workers are healthy."
            : reason;
        await FinishAsync(TrainingJobStatuses.Failed, error, RunStatuses.Failed, reason);
        await Log($"Failed: {error}");
    }

    private async Task FinishAsync(string status, string? error, string runStatus, string? attemptOutcome = null)
    {
        var now = DateTimeOffset.UtcNow;
        await ChangeAsync(s =>
        {
            s.Status = status;
            s.Error = error;
            s.EndedAt = now;
            s.Phase = status == TrainingJobStatuses.Cancelled ? "cancelled" : "failed";
            if (attemptOutcome is not null && s.Attempts.Count > 0 && s.Attempts[^1].EndedAt is null)
            {
                EndAttempt(s, s.Attempts[^1].Number, now, attemptOutcome);
            }
        });
        await UpdateRunAsync(new RunUpdate(runStatus, now.ToUnixTimeMilliseconds(), null));
        NotifyParent();
    }

    private async Task StartMoreTrialsAsync()
    {
        var spec = Spec;
        var sweep = spec.Sweep!;
        while (S.Status == TrainingJobStatuses.Running
            && S.Trials.Count(t => t.JobId is not null && !TrainingJobStatuses.IsFinal(t.Status)) < sweep.Parallel
            && S.Trials.FirstOrDefault(t => t.JobId is null) is { } next)
        {
            var childId = $"{Id}-trial-{next.Number}";
            var child = GrainFactory.GetGrain<ITrainingJobGrain>(childId);
            var childSpec = spec with { Hyperparameters = next.Hyperparameters, Sweep = null, RegisterAs = null };
            var info = await child.Get() ?? await child.Submit(new TrainingJobSubmission(childSpec, Id, S.RunId, next.Number));
            await ChangeAsync(s =>
            {
                var index = s.Trials.FindIndex(t => t.Number == next.Number);
                s.Trials[index] = next with { JobId = childId, RunId = info.RunId, Status = info.Status };
            });
            await Log($"Trial {next.Number} of {S.Trials.Count} submitted as job {childId} with {FormatMetrics(next.Hyperparameters)}.");
        }
    }

    private async Task RefreshTrialsAsync()
    {
        var metric = Spec.Sweep!.Metric;
        var updated = new List<TrainingTrial>(S.Trials.Count);
        foreach (var trial in S.Trials)
        {
            if (trial.JobId is null || TrainingJobStatuses.IsFinal(trial.Status))
            {
                updated.Add(trial);
                continue;
            }

            var info = await GrainFactory.GetGrain<ITrainingJobGrain>(trial.JobId).Get();
            updated.Add(info is null ? trial : trial with
            {
                Status = info.Status,
                Metric = info.Metrics.TryGetValue(metric, out var value) ? value : null,
            });
        }

        var finished = updated.Count(t => TrainingJobStatuses.IsFinal(t.Status));
        if (!updated.SequenceEqual(S.Trials))
        {
            await ChangeAsync(s =>
            {
                s.Trials = updated;
                if (!TrainingJobStatuses.IsFinal(s.Status))
                {
                    s.Phase = $"{finished} of {updated.Count} trials done";
                    s.Percent = 100 * finished / Math.Max(1, updated.Count);
                }
            });
        }
    }

    private async Task FinishSweepAsync()
    {
        var spec = Spec;
        var sweep = spec.Sweep!;
        var scored = S.Trials.Where(t => t.Status == TrainingJobStatuses.Succeeded && t.Metric is { } m && double.IsFinite(m)).ToList();
        if (scored.Count == 0)
        {
            var firstError = await FirstTrialErrorAsync();
            var error = $"None of the {S.Trials.Count} trials succeeded with a '{sweep.Metric}' metric." + (firstError is null ? "" : $" Trial error: {firstError}");
            await FinishAsync(TrainingJobStatuses.Failed, error, RunStatuses.Failed);
            await Log($"Failed: {error}");
            return;
        }

        var best = sweep.Goal == SweepGoals.Minimize ? scored.MinBy(t => t.Metric!.Value)! : scored.MaxBy(t => t.Metric!.Value)!;
        var bestJob = await GrainFactory.GetGrain<ITrainingJobGrain>(best.JobId!).Get()
            ?? throw new InvalidOperationException($"Trial job {best.JobId} vanished.");
        var outcome = bestJob.Outcome ?? throw new InvalidOperationException($"Trial job {best.JobId} succeeded without an outcome.");

        ModelVersionRef? registered = null;
        if (spec.RegisterAs is { } model)
        {
            registered = await RegisterAsync(model, outcome, bestJob.RunId!, spec with { Hyperparameters = best.Hyperparameters });
        }

        var now = DateTimeOffset.UtcNow;
        try
        {
            var run = GrainFactory.GetGrain<IRunGrain>(S.RunId!);
            await run.LogBatch(new RunBatch(
                [.. outcome.Metrics.Select(m => new MetricPoint(m.Key, m.Value, now.ToUnixTimeMilliseconds(), 0))],
                [],
                [new TrackingTag("mlgrid.best-trial", best.Number.ToString(CultureInfo.InvariantCulture)), new TrackingTag("mlgrid.best-run-id", bestJob.RunId!)]));
        }
        catch (Exception ex) when (ex is RequestException or Tracking.TrackingException)
        {
            logger.LogWarning(ex, "Sweep {Job}: the best trial's metrics could not be logged to run {Run}", Id, S.RunId);
        }

        await ChangeAsync(s =>
        {
            s.Status = TrainingJobStatuses.Succeeded;
            s.EndedAt = now;
            s.Phase = "done";
            s.Percent = 100;
            s.BestTrial = best.Number;
            s.Metrics = new Dictionary<string, double>(outcome.Metrics, StringComparer.Ordinal);
            s.Outcome = outcome;
            s.ModelVersion = registered;
        });
        await Log($"Sweep done: trial {best.Number} is best with {sweep.Metric} = {best.Metric!.Value.ToString("G6", CultureInfo.InvariantCulture)} ({FormatMetrics(best.Hyperparameters)})."
            + (registered is null ? "" : $" Registered as model '{registered.Name}' version {registered.Version}."));
        await UpdateRunAsync(new RunUpdate(RunStatuses.Finished, now.ToUnixTimeMilliseconds(), null));
    }

    private async Task<string?> FirstTrialErrorAsync()
    {
        foreach (var trial in S.Trials.Where(t => t.Status == TrainingJobStatuses.Failed && t.JobId is not null))
        {
            if (await GrainFactory.GetGrain<ITrainingJobGrain>(trial.JobId!).Get() is { Error: { } error })
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>Registers the outcome's ONNX file as a version of <paramref name="model"/>, with its run (and so its dataset lineage), job and metrics.</summary>
    private async Task<ModelVersionRef> RegisterAsync(string model, TrainingOutcome outcome, string runId, TrainingJobSpec spec)
    {
        var tags = new List<TrackingTag>
        {
            new(JobTag, Id),
            new(DatasetTag, spec.DatasetRef),
            new("mlgrid.trainer", spec.Trainer),
            new("mlgrid.task", spec.Task),
        };
        tags.AddRange(outcome.Metrics.Select(m => new TrackingTag(MetricTagPrefix + m.Key, m.Value.ToString("R", CultureInfo.InvariantCulture))));
        var version = await GrainFactory.GetGrain<IModelGrain>(model).AddVersion(new NewModelVersion(
            outcome.OnnxSha256,
            outcome.OnnxSizeBytes,
            outcome.Signature,
            Source: $"runs:/{runId}/{outcome.ArtifactPath}",
            RunId: runId,
            Description: $"{spec.Trainer} {spec.Task} trained by job {Id} on {spec.DatasetRef} (label '{spec.Label}').",
            Tags: tags));
        return new ModelVersionRef(model, version.Version);
    }

    private async Task<string> FindOrCreateExperimentAsync(string name)
    {
        var catalog = GrainFactory.GetGrain<IExperimentCatalogGrain>(IExperimentCatalogGrain.Key);
        if (await catalog.Find(name) is { } id)
        {
            return id;
        }

        try
        {
            return (await catalog.Create(new NewExperiment(name, null, []))).ExperimentId;
        }
        catch (RequestException ex) when (ex.Kind == RequestErrorKind.AlreadyExists)
        {
            return await catalog.Find(name)
                ?? throw new RequestException(RequestErrorKind.Conflict, $"Experiment '{name}' was created and removed at once; submit the job again.", ex);
        }
    }

    private static List<TrackingTag> Params(TrainingJobSpec spec)
    {
        var values = new List<TrackingTag>
        {
            new("task", spec.Task),
            new("trainer", spec.Trainer),
            new("label", spec.Label),
            new("features", Truncate(spec.Features is null ? "(all other columns)" : string.Join(",", spec.Features), 6000)),
            new("dataset", spec.DatasetRef),
            new("validation_fraction", spec.ValidationFraction.ToString("R", CultureInfo.InvariantCulture)),
            new("seed", spec.Seed.ToString(CultureInfo.InvariantCulture)),
            new("device", spec.Device),
        };
        values.AddRange(spec.Hyperparameters.Select(h => new TrackingTag(h.Key, h.Value.ToString("R", CultureInfo.InvariantCulture))));
        if (spec.Sweep is { } sweep)
        {
            values.Add(new TrackingTag("sweep.strategy", sweep.Strategy));
            values.Add(new TrackingTag("sweep.trials", sweep.Trials.ToString(CultureInfo.InvariantCulture)));
            values.Add(new TrackingTag("sweep.metric", sweep.Metric));
            values.Add(new TrackingTag("sweep.goal", sweep.Goal));
        }

        return values;
    }

    private static RunDatasetInput DatasetInput(TrainingJobSpec spec) => new(
        spec.DatasetRef,
        spec.DatasetRef.Length <= 36 ? spec.DatasetRef : spec.DatasetRef[..36],
        "mlgrid",
        $"/api/v1/datasets/{spec.Dataset}/versions/{spec.DatasetVersion}",
        null,
        null,
        [new TrackingTag("mlflow.data.context", "training")],
        new DatasetVersionRef(spec.Dataset, spec.DatasetVersion));

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..(length - 1)] + "…";

    private static string FormatMetrics(IReadOnlyDictionary<string, double> values) =>
        values.Count == 0 ? "(none)" : string.Join(", ", values.OrderBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => $"{v.Key}={v.Value.ToString("G6", CultureInfo.InvariantCulture)}"));

    private bool IsCurrent(int attempt) =>
        S.Spec is not null && S.Status == TrainingJobStatuses.Running && S.Attempts.Count > 0 && S.Attempts[^1].Number == attempt && S.Attempts[^1].EndedAt is null;

    private static void EndAttempt(TrainingJobState s, int attempt, DateTimeOffset at, string outcome)
    {
        var index = s.Attempts.FindIndex(a => a.Number == attempt);
        if (index >= 0)
        {
            s.Attempts[index] = s.Attempts[index] with { EndedAt = at, Outcome = outcome };
        }
    }

    private async Task TryCancelOnWorkerAsync(string worker, int attempt)
    {
        try
        {
            await GrainFactory.GetGrain<IWorkerGrain>(worker).CancelTraining(Id, attempt).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex)
        {
            // A worker that cannot be reached is gone or going; it reports nothing the job will take.
            logger.LogWarning(ex, "Training job {Job}: could not stop attempt {Attempt} on worker {Worker}", Id, attempt, worker);
        }
    }

    private async Task UpdateRunAsync(RunUpdate update)
    {
        try
        {
            await GrainFactory.GetGrain<IRunGrain>(S.RunId!).Update(update);
        }
        catch (RequestException ex)
        {
            // Someone deleted the run: the job goes on, and says so in its log.
            logger.LogWarning(ex, "Training job {Job}: run {Run} could not be set to {Status}", Id, S.RunId, update.Status);
            await Log($"Run {S.RunId} could not be set to {update.Status}: {ex.Message}");
        }
    }

    private void NotifyParent()
    {
        if (S.ParentJobId is { } parent)
        {
            _ = GrainFactory.GetGrain<ITrainingJobGrain>(parent).TrialEnded(Id);
        }
    }

    private async Task Log(string message)
    {
        logger.LogInformation("Training job {Job}: {Message}", Id, message);
        try
        {
            await logs.AppendAsync(Id, [TrainingLogStore.Line(DateTimeOffset.UtcNow, "control-plane", message)], CancellationToken.None);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Training job {Job}: could not append to its log", Id);
        }
    }

    private async Task ChangeAsync(Action<TrainingJobState> change)
    {
        var previous = S;
        var next = new TrainingJobState
        {
            Spec = previous.Spec,
            Status = previous.Status,
            CreatedAt = previous.CreatedAt,
            StartedAt = previous.StartedAt,
            EndedAt = previous.EndedAt,
            Phase = previous.Phase,
            Percent = previous.Percent,
            Attempts = [.. previous.Attempts],
            ExperimentId = previous.ExperimentId,
            RunId = previous.RunId,
            RunArtifactUri = previous.RunArtifactUri,
            ModelVersion = previous.ModelVersion,
            Metrics = new Dictionary<string, double>(previous.Metrics, StringComparer.Ordinal),
            Error = previous.Error,
            ParentJobId = previous.ParentJobId,
            ParentRunId = previous.ParentRunId,
            TrialNumber = previous.TrialNumber,
            Trials = [.. previous.Trials],
            BestTrial = previous.BestTrial,
            Outcome = previous.Outcome,
        };
        change(next);
        next.UpdatedAt = DateTimeOffset.UtcNow;
        await state.ReplaceAsync(next);

        // The catalog lists and schedules jobs; the job's own state is the truth, and the scheduler repairs a summary
        // that missed a change (see TrainingScheduler).
        try
        {
            await GrainFactory.GetGrain<ITrainingJobCatalogGrain>(ITrainingJobCatalogGrain.Key).Upsert(TrainingJobSummaries.From(ToInfo()));
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Training job {Job}: the job catalog could not be updated", Id);
        }
    }

    private TrainingJobInfo ToInfo() => new(
        Id,
        S.Status,
        Spec,
        S.CreatedAt,
        S.UpdatedAt,
        S.StartedAt,
        S.EndedAt,
        S.Phase,
        S.Percent,
        S.Status == TrainingJobStatuses.Running && S.Attempts.Count > 0 && S.Attempts[^1].EndedAt is null ? S.Attempts[^1].Worker : null,
        [.. S.Attempts],
        S.ExperimentId,
        S.RunId,
        S.ModelVersion,
        new Dictionary<string, double>(S.Metrics, StringComparer.Ordinal),
        S.Error,
        S.ParentJobId,
        [.. S.Trials],
        S.BestTrial,
        S.Outcome);
}

public static class TrainingJobSummaries
{
    public static TrainingJobSummary From(TrainingJobInfo info) => new(
        info.Id,
        info.Status,
        info.Spec.Experiment,
        info.Spec.DatasetRef,
        info.Spec.Task,
        info.Spec.Trainer,
        info.Spec.RegisterAs,
        info.Spec.Device,
        info.CreatedAt,
        info.UpdatedAt,
        info.Worker,
        info.ParentJobId,
        info.Spec.Sweep is not null,
        info.Attempts.Count,
        [.. info.Attempts.Where(a => a.Outcome is not null && a.Outcome != "succeeded").Select(a => a.Worker).Distinct()]);
}
