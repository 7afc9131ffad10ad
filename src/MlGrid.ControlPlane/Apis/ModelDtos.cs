using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Apis;

/// <summary>
/// A model version. <c>Sha256</c>, <c>SizeBytes</c>, <c>Inputs</c> and <c>Outputs</c> are null for a version registered
/// through MLflow whose source holds no loadable ONNX file (<c>Deployable</c> false, <c>StatusMessage</c> says why).
/// </summary>
public sealed record ModelVersionResponse(
    string Name,
    int Version,
    string? Sha256,
    long? SizeBytes,
    IReadOnlyList<TensorSignature>? Inputs,
    IReadOnlyList<TensorSignature>? Outputs,
    IReadOnlyList<string> Aliases,
    DateTimeOffset CreatedAt,
    bool Deployable,
    string Stage,
    string? Source,
    string? RunId,
    string? Description,
    IReadOnlyDictionary<string, string> Tags,
    string? StatusMessage)
{
    public static ModelVersionResponse From(ModelVersionInfo v) => new(
        v.Name,
        v.Version,
        v.Sha256,
        v.IsOnnx ? v.SizeBytes : null,
        v.Signature?.Inputs,
        v.Signature?.Outputs,
        v.Aliases,
        v.CreatedAt,
        v.IsOnnx,
        v.Stage,
        v.Source,
        v.RunId,
        v.Description,
        v.Tags.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal),
        v.StatusMessage);
}

public sealed record ModelSummary(string Name, int? LatestVersion, IReadOnlyDictionary<string, int> Aliases, DateTimeOffset CreatedAt, string? Description);

public sealed record ModelResponse(
    string Name,
    int? LatestVersion,
    IReadOnlyDictionary<string, int> Aliases,
    DateTimeOffset CreatedAt,
    IReadOnlyList<ModelVersionResponse> Versions,
    string? Description,
    IReadOnlyDictionary<string, string> Tags);

public sealed record SetAliasRequest(int? Version);
