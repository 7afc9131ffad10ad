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

/// <summary>A verified model file waiting for its version number.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.new-model-version")]
public sealed record NewModelVersion(
    [property: Id(0)] string Sha256,
    [property: Id(1)] long SizeBytes,
    [property: Id(2)] ModelSignature Signature);

[GenerateSerializer, Immutable, Alias("mlgrid.model-version-info")]
public sealed record ModelVersionInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] int Version,
    [property: Id(2)] string Sha256,
    [property: Id(3)] long SizeBytes,
    [property: Id(4)] ModelSignature Signature,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] IReadOnlyList<string> Aliases);

[GenerateSerializer, Immutable, Alias("mlgrid.model-info")]
public sealed record ModelInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] int LatestVersion,
    [property: Id(2)] IReadOnlyDictionary<string, int> Aliases,
    [property: Id(3)] IReadOnlyList<ModelVersionInfo> Versions,
    [property: Id(4)] DateTimeOffset CreatedAt);

/// <summary>A registered model: its numbered, immutable versions and the aliases that point at them.</summary>
[Alias("mlgrid.model")]
public interface IModelGrain : IGrainWithStringKey
{
    /// <summary>Numbers and stores a new version; the answer comes after the state is persisted.</summary>
    [Alias("add-version")]
    Task<ModelVersionInfo> AddVersion(NewModelVersion version);

    /// <summary>The model, or null when it has no versions.</summary>
    [Alias("get")]
    Task<ModelInfo?> Get();

    /// <summary>A version by number ("3") or alias ("champion"), or null when neither exists.</summary>
    [Alias("get-version")]
    Task<ModelVersionInfo?> GetVersion(string versionOrAlias);

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
