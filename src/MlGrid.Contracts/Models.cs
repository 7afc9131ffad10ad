namespace MlGrid.Contracts;

/// <summary>One input or output of a model: its name, Open Inference Protocol datatype and shape (-1 for a dynamic dimension).</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.tensor-signature")]
public sealed record TensorSignature(
    [property: Id(0)] string Name,
    [property: Id(1)] string Datatype,
    [property: Id(2)] long[] Shape);

/// <summary>What a model takes and gives, as read by ONNX Runtime on a worker.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.model-signature")]
public sealed record ModelSignature(
    [property: Id(0)] IReadOnlyList<TensorSignature> Inputs,
    [property: Id(1)] IReadOnlyList<TensorSignature> Outputs);

/// <summary>
/// A new model version. An ONNX version has the verified file's hash, size and signature; a version registered
/// through MLflow whose source holds no loadable ONNX file has none of them, and says why in
/// <see cref="StatusMessage"/>: it is in the registry, but cannot be deployed.
/// </summary>
[GenerateSerializer, Immutable, Alias("mlgrid.new-model-version")]
public sealed record NewModelVersion(
    [property: Id(0)] string? Sha256,
    [property: Id(1)] long SizeBytes,
    [property: Id(2)] ModelSignature? Signature,
    [property: Id(3)] string? Source = null,
    [property: Id(4)] string? RunId = null,
    [property: Id(5)] string? Description = null,
    [property: Id(6)] IReadOnlyList<TrackingTag>? Tags = null,
    [property: Id(7)] string? StatusMessage = null);

/// <summary>MLflow's model version stages (deprecated there in favour of aliases, still used by its clients).</summary>
public static class ModelStages
{
    public const string None = "None";
    public const string Staging = "Staging";
    public const string Production = "Production";
    public const string Archived = "Archived";

    public static IReadOnlyList<string> All { get; } = [None, Staging, Production, Archived];

    /// <summary>The canonical spelling of a stage given in any case, or null when it is not one.</summary>
    public static string? Canonical(string? stage) =>
        All.FirstOrDefault(s => string.Equals(s, stage, StringComparison.OrdinalIgnoreCase));
}

[GenerateSerializer, Immutable, Alias("mlgrid.model-version-info")]
public sealed record ModelVersionInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] int Version,
    [property: Id(2)] string? Sha256,
    [property: Id(3)] long SizeBytes,
    [property: Id(4)] ModelSignature? Signature,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] IReadOnlyList<string> Aliases)
{
    [Id(7)] public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Where the version came from: an MLflow source URI, or null for a file uploaded to <c>/api/v1/models</c>.</summary>
    [Id(8)] public string? Source { get; init; }

    [Id(9)] public string? RunId { get; init; }

    [Id(10)] public string? Description { get; init; }

    [Id(11)] public IReadOnlyList<TrackingTag> Tags { get; init; } = [];

    [Id(12)] public string Stage { get; init; } = ModelStages.None;

    /// <summary>Why a version cannot be deployed, for a version without an ONNX file; otherwise null.</summary>
    [Id(13)] public string? StatusMessage { get; init; }

    /// <summary>True when the version has a verified ONNX file and can be deployed to an endpoint.</summary>
    public bool IsOnnx => Sha256 is not null && Signature is not null;
}

[GenerateSerializer, Immutable, Alias("mlgrid.model-info")]
public sealed record ModelInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] int? LatestVersion,
    [property: Id(2)] IReadOnlyDictionary<string, int> Aliases,
    [property: Id(3)] IReadOnlyList<ModelVersionInfo> Versions,
    [property: Id(4)] DateTimeOffset CreatedAt)
{
    [Id(5)] public DateTimeOffset UpdatedAt { get; init; }

    [Id(6)] public string? Description { get; init; }

    [Id(7)] public IReadOnlyList<TrackingTag> Tags { get; init; } = [];
}

/// <summary>
/// A registered model: its numbered, immutable versions and the aliases that point at them. Versions come from
/// <c>/api/v1/models</c> uploads and from MLflow's model registry alike, numbered in one sequence; a deleted version's
/// number is never given again.
/// </summary>
[Alias("mlgrid.model")]
public interface IModelGrain : IGrainWithStringKey
{
    /// <summary>Numbers and stores a new version (registering the model if needed); the answer comes after the state is persisted.</summary>
    [Alias("add-version")]
    Task<ModelVersionInfo> AddVersion(NewModelVersion version);

    /// <summary>Registers the model with no versions yet; refused when it exists.</summary>
    [Alias("register")]
    Task<ModelInfo> Register(string? description, IReadOnlyList<TrackingTag> tags);

    /// <summary>The model, or null when it is not registered.</summary>
    [Alias("get")]
    Task<ModelInfo?> Get();

    [Alias("describe")]
    Task<ModelInfo> Describe(string? description);

    [Alias("set-tag")]
    Task SetTag(TrackingTag tag);

    /// <summary>Removes a tag; removing one that is not there is not an error.</summary>
    [Alias("delete-tag")]
    Task DeleteTag(string key);

    /// <summary>
    /// Deletes the model and all its versions from the registry. Endpoints keep serving the files they resolved; a
    /// model registered again under the name starts again at version 1.
    /// </summary>
    [Alias("delete")]
    Task Delete();

    /// <summary>A version by number ("3") or alias ("champion"), or null when neither exists (or it was deleted).</summary>
    [Alias("get-version")]
    Task<ModelVersionInfo?> GetVersion(string versionOrAlias);

    [Alias("describe-version")]
    Task<ModelVersionInfo> DescribeVersion(int version, string? description);

    /// <summary>Deletes a version and the aliases that point at it.</summary>
    [Alias("delete-version")]
    Task DeleteVersion(int version);

    [Alias("set-version-tag")]
    Task SetVersionTag(int version, TrackingTag tag);

    [Alias("delete-version-tag")]
    Task DeleteVersionTag(int version, string key);

    /// <summary>Moves a version to a stage; with <paramref name="archiveExisting"/>, the versions in that stage go to Archived.</summary>
    [Alias("transition-stage")]
    Task<ModelVersionInfo> TransitionStage(int version, string stage, bool archiveExisting);

    [Alias("set-alias")]
    Task<ModelVersionInfo> SetAlias(string alias, int version);

    /// <summary>Removes an alias; false when it did not exist.</summary>
    [Alias("delete-alias")]
    Task<bool> DeleteAlias(string alias);
}

/// <summary>The list of model names, so that models can be listed without scanning storage.</summary>
[Alias("mlgrid.model-catalog")]
public interface IModelCatalogGrain : IGrainWithStringKey
{
    public const string Key = "default";

    [Alias("add")]
    Task Add(string name);

    [Alias("remove")]
    Task Remove(string name);

    [Alias("list")]
    Task<IReadOnlyList<string>> List();
}

/// <summary>Loads a model file on a worker to read its signature; refuses files ONNX Runtime cannot load.</summary>
[Alias("mlgrid.model-inspector")]
public interface IModelInspectorGrain : IGrainWithIntegerKey
{
    /// <summary>The signature of the artifact stored under <paramref name="sha256"/>; a <see cref="RequestException"/> when it is not a loadable model.</summary>
    [Alias("inspect")]
    Task<ModelSignature> Inspect(string sha256);
}
