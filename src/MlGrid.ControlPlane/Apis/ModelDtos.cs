using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Apis;

public sealed record ModelVersionResponse(
    string Name,
    int Version,
    string Sha256,
    long SizeBytes,
    IReadOnlyList<TensorSignature> Inputs,
    IReadOnlyList<TensorSignature> Outputs,
    IReadOnlyList<string> Aliases,
    DateTimeOffset CreatedAt)
{
    public static ModelVersionResponse From(ModelVersionInfo v) =>
        new(v.Name, v.Version, v.Sha256, v.SizeBytes, v.Signature.Inputs, v.Signature.Outputs, v.Aliases, v.CreatedAt);
}

public sealed record ModelSummary(string Name, int LatestVersion, IReadOnlyDictionary<string, int> Aliases, DateTimeOffset CreatedAt);

public sealed record ModelResponse(
    string Name,
    int LatestVersion,
    IReadOnlyDictionary<string, int> Aliases,
    DateTimeOffset CreatedAt,
    IReadOnlyList<ModelVersionResponse> Versions);

public sealed record SetAliasRequest(int? Version);
