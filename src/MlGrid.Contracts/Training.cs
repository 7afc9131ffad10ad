namespace MlGrid.Contracts;

/// <summary>Where a training job is in its life. Succeeded, Failed and Cancelled are final.</summary>
public static class TrainingJobStatuses
{
    public const string Queued = "Queued";
    public const string Running = "Running";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";
    public const string Cancelled = "Cancelled";

    public static IReadOnlyList<string> All { get; } = [Queued, Running, Succeeded, Failed, Cancelled];

    public static bool IsFinal(string status) => status is Succeeded or Failed or Cancelled;
}

/// <summary>
/// One hyperparameter's search space in a sweep: either a list of <see cref="Values"/> (grid and random), or a range
/// from <see cref="Min"/> to <see cref="Max"/> sampled uniformly, or log-uniformly when <see cref="Log"/> is set
/// (random only).
/// </summary>
[GenerateSerializer, Immutable, Alias("mlgrid.sweep-dimension")]
public sealed record SweepDimension(
    [property: Id(0)] IReadOnlyList<double>? Values,
    [property: Id(1)] double? Min = null,
    [property: Id(2)] double? Max = null,
    [property: Id(3)] bool Log = false);

/// <summary>A hyperparameter sweep: trials run as child jobs, <see cref="Parallel"/> at a time, and the best by <see cref="Metric"/> is kept.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.sweep-spec")]
public sealed record SweepSpec(
    [property: Id(0)] string Strategy,
    [property: Id(1)] int Trials,
    [property: Id(2)] int Parallel,
    [property: Id(3)] IReadOnlyDictionary<string, SweepDimension> Space,
    [property: Id(4)] string Metric,
    [property: Id(5)] string Goal);

public static class SweepStrategies
{
    public const string Grid = "grid";
    public const string Random = "random";
}

public static class SweepGoals
{
    public const string Maximize = "maximize";
    public const string Minimize = "minimize";
}

/// <summary>
/// What a training job trains, checked by the control plane before it is accepted: the dataset version is resolved
/// to a number, and the spec has been planned against that version's profile.
/// </summary>
[GenerateSerializer, Immutable, Alias("mlgrid.training-job-spec")]
public sealed record TrainingJobSpec(
    [property: Id(0)] string Experiment,
    [property: Id(1)] string Dataset,
    [property: Id(2)] int DatasetVersion,
    [property: Id(3)] string Task,
    [property: Id(4)] string Label,
    [property: Id(5)] IReadOnlyList<string>? Features,
    [property: Id(6)] string Trainer,
    [property: Id(7)] IReadOnlyDictionary<string, double> Hyperparameters,
    [property: Id(8)] double ValidationFraction,
    [property: Id(9)] string? RegisterAs,
    [property: Id(10)] string Device,
    [property: Id(11)] int Seed,
    [property: Id(12)] int MaxAttempts,
    [property: Id(13)] SweepSpec? Sweep = null)
{
    /// <summary>"name@version", the way the API names a dataset version.</summary>
    public string DatasetRef => $"{Dataset}@{DatasetVersion}";
}

/// <summary>A job to create: its spec; for a sweep, each trial's hyperparameters; for a trial, the parent job and the parent's run.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.training-job-submission")]
public sealed record TrainingJobSubmission(
    [property: Id(0)] TrainingJobSpec Spec,
    [property: Id(1)] string? ParentJobId = null,
    [property: Id(2)] string? ParentRunId = null,
    [property: Id(3)] int? TrialNumber = null,
    [property: Id(4)] IReadOnlyList<IReadOnlyDictionary<string, double>>? Trials = null);

[GenerateSerializer, Immutable, Alias("mlgrid.training-attempt")]
public sealed record TrainingAttempt(
    [property: Id(0)] int Number,
    [property: Id(1)] string Worker,
    [property: Id(2)] DateTimeOffset StartedAt,
    [property: Id(3)] DateTimeOffset? EndedAt,
    [property: Id(4)] string? Outcome);

[GenerateSerializer, Immutable, Alias("mlgrid.model-version-ref")]
public sealed record ModelVersionRef(
    [property: Id(0)] string Name,
    [property: Id(1)] int Version);

/// <summary>What a finished attempt produced: validation metrics and the stored, inspected ONNX file.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.training-outcome")]
public sealed record TrainingOutcome(
    [property: Id(0)] IReadOnlyDictionary<string, double> Metrics,
    [property: Id(1)] string OnnxSha256,
    [property: Id(2)] long OnnxSizeBytes,
    [property: Id(3)] ModelSignature Signature,
    [property: Id(4)] long TrainingRows,
    [property: Id(5)] long ValidationRows,
    [property: Id(6)] int ParityRows,
    [property: Id(7)] double ParityMaxDifference,
    [property: Id(8)] string ArtifactPath);

/// <summary>A sweep's trial as its parent shows it.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.training-trial")]
public sealed record TrainingTrial(
    [property: Id(0)] int Number,
    [property: Id(1)] IReadOnlyDictionary<string, double> Hyperparameters,
    [property: Id(2)] string? JobId,
    [property: Id(3)] string? RunId,
    [property: Id(4)] string Status,
    [property: Id(5)] double? Metric);

/// <summary>A training job as the API shows it.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.training-job-info")]
public sealed record TrainingJobInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Status,
    [property: Id(2)] TrainingJobSpec Spec,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] DateTimeOffset UpdatedAt,
    [property: Id(5)] DateTimeOffset? StartedAt,
    [property: Id(6)] DateTimeOffset? EndedAt,
    [property: Id(7)] string Phase,
    [property: Id(8)] int Percent,
    [property: Id(9)] string? Worker,
    [property: Id(10)] IReadOnlyList<TrainingAttempt> Attempts,
    [property: Id(11)] string? ExperimentId,
    [property: Id(12)] string? RunId,
    [property: Id(13)] ModelVersionRef? ModelVersion,
    [property: Id(14)] IReadOnlyDictionary<string, double> Metrics,
    [property: Id(15)] string? Error,
    [property: Id(16)] string? ParentJobId,
    [property: Id(17)] IReadOnlyList<TrainingTrial> Trials,
    [property: Id(18)] int? BestTrial,
    [property: Id(19)] TrainingOutcome? Outcome);

/// <summary>What the job list and the scheduler need of a job, kept by the catalog so listing is one call.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.training-job-summary")]
public sealed record TrainingJobSummary(
    [property: Id(0)] string Id,
    [property: Id(1)] string Status,
    [property: Id(2)] string Experiment,
    [property: Id(3)] string Dataset,
    [property: Id(4)] string Task,
    [property: Id(5)] string Trainer,
    [property: Id(6)] string? RegisterAs,
    [property: Id(7)] string Device,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateTimeOffset UpdatedAt,
    [property: Id(10)] string? Worker,
    [property: Id(11)] string? ParentJobId,
    [property: Id(12)] bool IsSweep,
    [property: Id(13)] int Attempt,
    [property: Id(14)] IReadOnlyList<string> ExcludedWorkers);

/// <summary>
/// A training job. Created queued; the scheduler starts it on a worker with a free slot; the worker reports progress
/// and the outcome of each attempt; a sweep job runs its trials as child jobs. The key is the job id.
/// </summary>
[Alias("mlgrid.training-job")]
public interface ITrainingJobGrain : IGrainWithStringKey
{
    /// <summary>Creates the job and its MLflow run, queued; persisted before it answers.</summary>
    [Alias("submit")]
    Task<TrainingJobInfo> Submit(TrainingJobSubmission submission);

    /// <summary>The job, or null when there is none with this id.</summary>
    [Alias("get")]
    Task<TrainingJobInfo?> Get();

    /// <summary>Starts the next attempt on <paramref name="worker"/>; false when the job is not queued or the worker has no free slot.</summary>
    [Alias("start")]
    Task<bool> Start(string worker);

    [Alias("report-progress")]
    Task ReportProgress(int attempt, string phase, int percent);

    [Alias("complete")]
    Task Complete(int attempt, TrainingOutcome outcome);

    /// <summary>An attempt ended without a model. Retryable failures queue another attempt while attempts remain.</summary>
    [Alias("fail")]
    Task Fail(int attempt, string reason, bool retryable);

    /// <summary>The scheduler found the attempt's worker gone, or the worker no longer running it.</summary>
    [Alias("attempt-lost")]
    Task AttemptLost(int attempt, string reason);

    /// <summary>Why a queued job is not starting (no GPU worker, every slot busy); shown as its phase, not persisted.</summary>
    [Alias("waiting")]
    Task Waiting(string reason);

    /// <summary>Stops the job: a queued job is cancelled at once, a running one is stopped on its worker.</summary>
    [Alias("cancel")]
    Task<TrainingJobInfo> Cancel();

    /// <summary>A sweep's trial reached a final status.</summary>
    [Alias("trial-ended"), Orleans.Concurrency.OneWay]
    Task TrialEnded(string trialJobId);

    /// <summary>For a sweep: looks at its trials again and moves on (a lost <see cref="TrialEnded"/> is caught up here).</summary>
    [Alias("reconcile")]
    Task Reconcile();
}

/// <summary>Every training job's summary, so jobs can be listed and scheduled without waking each one.</summary>
[Alias("mlgrid.training-job-catalog")]
public interface ITrainingJobCatalogGrain : IGrainWithStringKey
{
    public const string Key = "default";

    [Alias("upsert")]
    Task Upsert(TrainingJobSummary summary);

    /// <summary>All jobs, newest first.</summary>
    [Alias("list")]
    Task<IReadOnlyList<TrainingJobSummary>> List();

    /// <summary>Jobs that are queued or running, oldest first.</summary>
    [Alias("active")]
    Task<IReadOnlyList<TrainingJobSummary>> Active();
}

/// <summary>The work a worker is given for one attempt of a job, with what it needs to read the dataset version.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.training-assignment")]
public sealed record TrainingAssignment(
    [property: Id(0)] string JobId,
    [property: Id(1)] int Attempt,
    [property: Id(2)] TrainingJobSpec Spec,
    [property: Id(3)] DatasetVersionInfo Dataset,
    [property: Id(4)] string RunId,
    [property: Id(5)] string RunArtifactUri);

/// <summary>An attempt a worker holds: running, or finished with its report not yet delivered.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.training-attempt-ref")]
public sealed record TrainingAttemptRef(
    [property: Id(0)] string JobId,
    [property: Id(1)] int Attempt);

/// <summary>What a worker tells the cluster about its training capacity.</summary>
public static class TrainingSlots
{
    public const string MetadataKey = "mlgrid.training-slots";
}
