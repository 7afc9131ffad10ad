namespace MlGrid.Contracts;

/// <summary>A column's histogram: <c>Edges</c> has one more entry than <c>Counts</c>; the last bin is closed.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.dataset-histogram")]
public sealed record DatasetHistogram(
    [property: Id(0)] IReadOnlyList<double> Edges,
    [property: Id(1)] IReadOnlyList<long> Counts);

[GenerateSerializer, Immutable, Alias("mlgrid.dataset-value-count")]
public sealed record DatasetValueCount(
    [property: Id(0)] string Value,
    [property: Id(1)] long Count);

/// <summary>One column of a dataset version as profiled at upload: the drift baseline for what is later served.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.dataset-column")]
public sealed record DatasetColumn(
    [property: Id(0)] string Name,
    [property: Id(1)] string Type,
    [property: Id(2)] long Nulls,
    [property: Id(3)] double? Min,
    [property: Id(4)] double? Max,
    [property: Id(5)] double? Mean,
    [property: Id(6)] double? Std,
    [property: Id(7)] DatasetHistogram? Histogram,
    [property: Id(8)] IReadOnlyList<DatasetValueCount> TopValues);

/// <summary>A stored, profiled file waiting for its version number.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.new-dataset-version")]
public sealed record NewDatasetVersion(
    [property: Id(0)] string Sha256,
    [property: Id(1)] long SizeBytes,
    [property: Id(2)] string Format,
    [property: Id(3)] long Rows,
    [property: Id(4)] IReadOnlyList<DatasetColumn> Columns);

[GenerateSerializer, Immutable, Alias("mlgrid.dataset-version-info")]
public sealed record DatasetVersionInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] int Version,
    [property: Id(2)] string Sha256,
    [property: Id(3)] long SizeBytes,
    [property: Id(4)] string Format,
    [property: Id(5)] long Rows,
    [property: Id(6)] IReadOnlyList<DatasetColumn> Columns,
    [property: Id(7)] DateTimeOffset CreatedAt);

/// <summary>The answer to adding a version: the version, and whether it is new (false: the same bytes were there already).</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.dataset-version-added")]
public sealed record DatasetVersionAdded(
    [property: Id(0)] DatasetVersionInfo Version,
    [property: Id(1)] bool Created);

[GenerateSerializer, Immutable, Alias("mlgrid.dataset-info")]
public sealed record DatasetInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] int LatestVersion,
    [property: Id(2)] IReadOnlyList<DatasetVersionInfo> Versions,
    [property: Id(3)] DateTimeOffset CreatedAt);

/// <summary>The formats a dataset version is stored in (<see cref="DatasetVersionInfo.Format"/>).</summary>
public static class DatasetFormats
{
    public const string Csv = "csv";
    public const string Parquet = "parquet";
}

/// <summary>What can use a dataset version.</summary>
public static class DatasetUseKinds
{
    public const string Run = "run";
    public const string ModelVersion = "model-version";
}

/// <summary>
/// One use of a dataset version, for lineage: a run that logged it as an input (<c>Id</c> the run id, <c>Scope</c> its
/// experiment id) or a model version made from it (<c>Id</c> "name/version").
/// </summary>
[GenerateSerializer, Immutable, Alias("mlgrid.dataset-use")]
public sealed record DatasetUse(
    [property: Id(0)] string Kind,
    [property: Id(1)] string Id,
    [property: Id(2)] string DisplayName,
    [property: Id(3)] string? Scope,
    [property: Id(4)] DateTimeOffset At);

/// <summary>A dataset: its numbered, immutable versions, each a content-addressed file with its profile.</summary>
[Alias("mlgrid.dataset")]
public interface IDatasetGrain : IGrainWithStringKey
{
    /// <summary>Numbers and stores a new version, or returns the version that has the same bytes; persisted before it answers.</summary>
    [Alias("add-version")]
    Task<DatasetVersionAdded> AddVersion(NewDatasetVersion version);

    /// <summary>The dataset, or null when it has no versions.</summary>
    [Alias("get")]
    Task<DatasetInfo?> Get();

    [Alias("get-version")]
    Task<DatasetVersionInfo?> GetVersion(int version);

    /// <summary>Records that a run or model version used a version; recording the same use again changes nothing.</summary>
    [Alias("record-use")]
    Task RecordUse(int version, DatasetUse use);

    /// <summary>Everything recorded as using a version, oldest first; a not-found <see cref="RequestException"/> for an unknown version.</summary>
    [Alias("uses")]
    Task<IReadOnlyList<DatasetUse>> Uses(int version);
}

/// <summary>The list of dataset names.</summary>
[Alias("mlgrid.dataset-catalog")]
public interface IDatasetCatalogGrain : IGrainWithStringKey
{
    public const string Key = "default";

    [Alias("add")]
    Task Add(string name);

    [Alias("list")]
    Task<IReadOnlyList<string>> List();
}
