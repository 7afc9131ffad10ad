using Microsoft.AspNetCore.Http.HttpResults;
using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Apis;

/// <summary>Lineage of a dataset version: the runs that logged it as an input and the model versions made from it.</summary>
public static class DatasetLineageApi
{
    public static RouteHandlerBuilder MapDatasetLineageApi(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/v1/datasets/{name}/versions/{version:int}/lineage", GetLineage).WithTags("Datasets");

    public static async Task<Results<Ok<DatasetLineage>, ProblemHttpResult>> GetLineage(string name, int version, IGrainFactory grains)
    {
        if (!Names.IsValid(name) || await grains.GetGrain<IDatasetGrain>(name).GetVersion(version) is null)
        {
            return Problems.Of(StatusCodes.Status404NotFound, $"Dataset '{name}' has no version {version}.");
        }

        var uses = await grains.GetGrain<IDatasetGrain>(name).Uses(version);
        return TypedResults.Ok(new DatasetLineage(
            name,
            version,
            [.. uses.Where(u => u.Kind == DatasetUseKinds.Run).Select(u => new DatasetRunUse(u.Id, u.DisplayName, u.Scope ?? "", u.At))],
            [.. uses.Where(u => u.Kind == DatasetUseKinds.ModelVersion).Select(ToModelVersion)]));
    }

    private static DatasetModelVersionUse ToModelVersion(DatasetUse use)
    {
        var slash = use.Id.LastIndexOf('/');
        return new DatasetModelVersionUse(use.Id[..slash], int.Parse(use.Id.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture), use.At);
    }
}

public sealed record DatasetLineage(string Name, int Version, IReadOnlyList<DatasetRunUse> Runs, IReadOnlyList<DatasetModelVersionUse> ModelVersions);

public sealed record DatasetRunUse(string RunId, string RunName, string ExperimentId, DateTimeOffset At);

public sealed record DatasetModelVersionUse(string Name, int Version, DateTimeOffset At);
