using System.Text.Json;
using System.Text.Json.Serialization;
using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>
/// MLflow's JSON shapes: snake_case fields, int64 times as numbers, NaN and infinities as strings, and empty lists and
/// unset fields left out as protobuf's JSON mapping does.
/// </summary>
internal static class MlflowJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static IResult Ok<T>(T body) => TypedResults.Json(body, Options);

    /// <summary>MLflow answers calls that return nothing with an empty object.</summary>
    public static IResult Empty() => TypedResults.Json(new { }, Options);

    public static List<T>? NullIfEmpty<T>(IEnumerable<T> items)
    {
        var list = items.ToList();
        return list.Count == 0 ? null : list;
    }
}

internal sealed record TagShape(string Key, string Value)
{
    public static List<TagShape>? From(IEnumerable<TrackingTag> tags) => MlflowJson.NullIfEmpty(tags.Select(t => new TagShape(t.Key, t.Value)));
}

internal sealed record ExperimentShape(
    string ExperimentId,
    string Name,
    string ArtifactLocation,
    string LifecycleStage,
    long LastUpdateTime,
    long CreationTime,
    List<TagShape>? Tags)
{
    public static ExperimentShape From(ExperimentInfo e) =>
        new(e.ExperimentId, e.Name, e.ArtifactLocation, e.LifecycleStage, e.LastUpdateTime, e.CreationTime, TagShape.From(e.Tags));
}

internal sealed record MetricShape(string Key, double Value, long Timestamp, long Step, string? RunId = null)
{
    public static MetricShape From(MetricPoint m, string? runId = null) => new(m.Key, m.Value, m.Timestamp, m.Step, runId);
}

internal sealed record RunInfoShape(
    string RunId,
    string RunUuid,
    string RunName,
    string ExperimentId,
    string UserId,
    string Status,
    long StartTime,
    long? EndTime,
    string ArtifactUri,
    string LifecycleStage)
{
    public static RunInfoShape From(RunInfo i) =>
        new(i.RunId, i.RunId, i.RunName, i.ExperimentId, i.UserId, i.Status, i.StartTime, i.EndTime, i.ArtifactUri, i.LifecycleStage);
}

internal sealed record RunDataShape(List<MetricShape>? Metrics, List<TagShape>? Params, List<TagShape>? Tags);

internal sealed record DatasetShape(string Name, string Digest, string SourceType, string Source, string? Schema, string? Profile);

internal sealed record DatasetInputShape(List<TagShape>? Tags, DatasetShape Dataset);

internal sealed record RunInputsShape(List<DatasetInputShape>? DatasetInputs);

internal sealed record RunShape(RunInfoShape Info, RunDataShape Data, RunInputsShape Inputs)
{
    public static RunShape From(RunRecord run) => new(
        RunInfoShape.From(run.Info),
        new RunDataShape(
            MlflowJson.NullIfEmpty(run.Metrics.Select(m => MetricShape.From(m))),
            TagShape.From(run.Params),
            TagShape.From(run.Tags)),
        new RunInputsShape(MlflowJson.NullIfEmpty(run.Inputs.Select(i => new DatasetInputShape(
            TagShape.From(i.Tags),
            new DatasetShape(i.Name, i.Digest, i.SourceType, i.Source, i.Schema, i.Profile))))));
}

internal sealed record ModelVersionShape(
    string Name,
    string Version,
    long CreationTimestamp,
    long LastUpdatedTimestamp,
    string CurrentStage,
    string? Description,
    string Source,
    string? RunId,
    string Status,
    string? StatusMessage,
    List<TagShape>? Tags,
    List<string>? Aliases)
{
    /// <summary>MLflow's source URI; a version uploaded to <c>/api/v1/models</c> names its content URL.</summary>
    public static string SourceOf(ModelVersionInfo v) =>
        v.Source ?? $"/api/v1/models/{v.Name}/versions/{v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)}/content";

    public static ModelVersionShape From(ModelVersionInfo v) => new(
        v.Name,
        v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
        v.CreatedAt.ToUnixTimeMilliseconds(),
        v.UpdatedAt.ToUnixTimeMilliseconds(),
        v.Stage,
        v.Description,
        SourceOf(v),
        v.RunId,
        "READY",
        v.StatusMessage,
        TagShape.From(v.Tags),
        MlflowJson.NullIfEmpty(v.Aliases));
}

internal sealed record AliasShape(string Alias, string Version);

internal sealed record RegisteredModelShape(
    string Name,
    long CreationTimestamp,
    long LastUpdatedTimestamp,
    string? Description,
    List<ModelVersionShape>? LatestVersions,
    List<TagShape>? Tags,
    List<AliasShape>? Aliases)
{
    /// <summary>The highest version in each stage that has one, in stage order, as MLflow's <c>latest_versions</c>.</summary>
    public static IEnumerable<ModelVersionInfo> LatestPerStage(ModelInfo model) =>
        ModelStages.All
            .Select(stage => model.Versions.Where(v => v.Stage == stage).MaxBy(v => v.Version))
            .OfType<ModelVersionInfo>();

    public static RegisteredModelShape From(ModelInfo m) => new(
        m.Name,
        m.CreatedAt.ToUnixTimeMilliseconds(),
        m.UpdatedAt.ToUnixTimeMilliseconds(),
        m.Description,
        MlflowJson.NullIfEmpty(LatestPerStage(m).Select(ModelVersionShape.From)),
        TagShape.From(m.Tags),
        MlflowJson.NullIfEmpty(m.Aliases
            .OrderBy(a => a.Key, StringComparer.Ordinal)
            .Select(a => new AliasShape(a.Key, a.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)))));
}
