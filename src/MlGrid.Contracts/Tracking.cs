namespace MlGrid.Contracts;

/// <summary>MLflow's lifecycle stages of experiments and runs.</summary>
public static class LifecycleStages
{
    public const string Active = "active";
    public const string Deleted = "deleted";
}

/// <summary>MLflow's run statuses.</summary>
public static class RunStatuses
{
    public const string Running = "RUNNING";
    public const string Scheduled = "SCHEDULED";
    public const string Finished = "FINISHED";
    public const string Failed = "FAILED";
    public const string Killed = "KILLED";

    public static readonly IReadOnlyList<string> All = [Running, Scheduled, Finished, Failed, Killed];
}

[GenerateSerializer, Immutable, Alias("mlgrid.tracking-tag")]
public sealed record TrackingTag(
    [property: Id(0)] string Key,
    [property: Id(1)] string Value);

[GenerateSerializer, Immutable, Alias("mlgrid.new-experiment")]
public sealed record NewExperiment(
    [property: Id(0)] string Name,
    [property: Id(1)] string? ArtifactLocation,
    [property: Id(2)] IReadOnlyList<TrackingTag> Tags);

/// <summary>An experiment as MLflow shows it; times are Unix milliseconds.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.experiment-info")]
public sealed record ExperimentInfo(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] string Name,
    [property: Id(2)] string ArtifactLocation,
    [property: Id(3)] string LifecycleStage,
    [property: Id(4)] long CreationTime,
    [property: Id(5)] long LastUpdateTime,
    [property: Id(6)] IReadOnlyList<TrackingTag> Tags);

/// <summary>Experiment names and ids: names are unique among active and deleted experiments, ids are numbered in order.</summary>
[Alias("mlgrid.experiment-catalog")]
public interface IExperimentCatalogGrain : IGrainWithStringKey
{
    public const string Key = "default";

    /// <summary>The id of MLflow's default experiment, which always exists.</summary>
    public const string DefaultExperimentId = "0";

    public const string DefaultExperimentName = "Default";

    /// <summary>Creates an experiment under a new id; a taken name is a conflict.</summary>
    [Alias("create")]
    Task<ExperimentInfo> Create(NewExperiment experiment);

    /// <summary>The id of the experiment with this name, or null.</summary>
    [Alias("find")]
    Task<string?> Find(string name);

    /// <summary>Every experiment id, oldest first.</summary>
    [Alias("list")]
    Task<IReadOnlyList<string>> List();

    /// <summary>Moves a name from one experiment to another name; a taken name is a conflict.</summary>
    [Alias("rename")]
    Task Rename(string experimentId, string oldName, string newName);
}

/// <summary>An experiment: its name, tags and lifecycle, and the ids of its runs. The key is the experiment id.</summary>
[Alias("mlgrid.experiment")]
public interface IExperimentGrain : IGrainWithStringKey
{
    /// <summary>Called by the catalog once it has reserved the name; idempotent for the same name.</summary>
    [Alias("initialize")]
    Task<ExperimentInfo> Initialize(NewExperiment experiment, string artifactLocation);

    /// <summary>The experiment, or null when there is none with this id.</summary>
    [Alias("get")]
    Task<ExperimentInfo?> Get();

    [Alias("rename")]
    Task Rename(string newName);

    /// <summary>Marks the experiment and its runs deleted (they can be restored).</summary>
    [Alias("delete")]
    Task Delete();

    [Alias("restore")]
    Task Restore();

    [Alias("set-tag")]
    Task SetTag(TrackingTag tag);

    /// <summary>Records a run as belonging to this experiment; refused when the experiment is deleted.</summary>
    [Alias("add-run")]
    Task AddRun(string runId);

    [Alias("runs")]
    Task<IReadOnlyList<string>> Runs();
}

/// <summary>One point of a metric's history; times are Unix milliseconds.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.metric-point")]
public sealed record MetricPoint(
    [property: Id(0)] string Key,
    [property: Id(1)] double Value,
    [property: Id(2)] long Timestamp,
    [property: Id(3)] long Step);

[GenerateSerializer, Immutable, Alias("mlgrid.dataset-version-ref")]
public sealed record DatasetVersionRef(
    [property: Id(0)] string Name,
    [property: Id(1)] int Version);

/// <summary>A dataset a run used, as MLflow's <c>log-inputs</c> describes it, with the MlGrid dataset version it names, if any.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.run-dataset-input")]
public sealed record RunDatasetInput(
    [property: Id(0)] string Name,
    [property: Id(1)] string Digest,
    [property: Id(2)] string SourceType,
    [property: Id(3)] string Source,
    [property: Id(4)] string? Schema,
    [property: Id(5)] string? Profile,
    [property: Id(6)] IReadOnlyList<TrackingTag> Tags,
    [property: Id(7)] DatasetVersionRef? DatasetVersion);

[GenerateSerializer, Immutable, Alias("mlgrid.run-info")]
public sealed record RunInfo(
    [property: Id(0)] string RunId,
    [property: Id(1)] string ExperimentId,
    [property: Id(2)] string RunName,
    [property: Id(3)] string UserId,
    [property: Id(4)] string Status,
    [property: Id(5)] long StartTime,
    [property: Id(6)] long? EndTime,
    [property: Id(7)] string ArtifactUri,
    [property: Id(8)] string LifecycleStage);

/// <summary>A run with its latest metric values, params, tags and dataset inputs.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.run-record")]
public sealed record RunRecord(
    [property: Id(0)] RunInfo Info,
    [property: Id(1)] IReadOnlyList<MetricPoint> Metrics,
    [property: Id(2)] IReadOnlyList<TrackingTag> Params,
    [property: Id(3)] IReadOnlyList<TrackingTag> Tags,
    [property: Id(4)] IReadOnlyList<RunDatasetInput> Inputs);

[GenerateSerializer, Immutable, Alias("mlgrid.new-run")]
public sealed record NewRun(
    [property: Id(0)] string ExperimentId,
    [property: Id(1)] string UserId,
    [property: Id(2)] string? RunName,
    [property: Id(3)] long StartTime,
    [property: Id(4)] IReadOnlyList<TrackingTag> Tags);

[GenerateSerializer, Immutable, Alias("mlgrid.run-update")]
public sealed record RunUpdate(
    [property: Id(0)] string? Status,
    [property: Id(1)] long? EndTime,
    [property: Id(2)] string? RunName);

/// <summary>What one <c>log-batch</c> (or a single log call) adds to a run: already validated against MLflow's limits.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.run-batch")]
public sealed record RunBatch(
    [property: Id(0)] IReadOnlyList<MetricPoint> Metrics,
    [property: Id(1)] IReadOnlyList<TrackingTag> Params,
    [property: Id(2)] IReadOnlyList<TrackingTag> Tags);

/// <summary>
/// A tracked run. Params are write-once; metric history goes to append blobs and only each metric's latest point is
/// kept in state, so a run with a long history stays small. The key is the run id.
/// </summary>
[Alias("mlgrid.run")]
public interface IRunGrain : IGrainWithStringKey
{
    [Alias("create")]
    Task<RunRecord> Create(NewRun run);

    /// <summary>The run, or null when there is none with this id.</summary>
    [Alias("get")]
    Task<RunRecord?> Get();

    [Alias("update")]
    Task<RunInfo> Update(RunUpdate update);

    [Alias("delete")]
    Task Delete();

    [Alias("restore")]
    Task Restore();

    /// <summary>Follows the experiment's lifecycle when the experiment is deleted or restored.</summary>
    [Alias("set-lifecycle")]
    Task SetLifecycle(string lifecycleStage);

    /// <summary>Appends metric points to their history, then records params and tags; persisted before it answers.</summary>
    [Alias("log-batch")]
    Task LogBatch(RunBatch batch);

    [Alias("delete-tag")]
    Task DeleteTag(string key);

    [Alias("log-inputs")]
    Task LogInputs(IReadOnlyList<RunDatasetInput> inputs);
}
