using Microsoft.AspNetCore.Http.HttpResults;
using MlGrid.ControlPlane.Grains;

namespace MlGrid.ControlPlane.Apis;

/// <summary>The worker silos that are up, with the capacity the scheduler places replicas by.</summary>
public static class WorkersApi
{
    public static RouteGroupBuilder MapWorkersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/workers").WithTags("Workers");
        api.MapGet("/", ListWorkers);
        return api;
    }

    public static Ok<List<WorkerInfo>> ListWorkers(IWorkerCatalog workers) =>
        TypedResults.Ok(workers.LiveWorkers().OrderBy(w => w.InferenceUrl, StringComparer.Ordinal).ToList());
}
