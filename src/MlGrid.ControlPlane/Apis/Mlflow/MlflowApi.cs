using MlGrid.Hosting;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>
/// MLflow's REST API 2.0 under <c>/api/2.0/mlflow</c>, so that MLflow clients log to MlGrid unchanged: the same paths,
/// request fields, answers and <c>{"error_code","message"}</c> errors.
/// </summary>
public static class MlflowApi
{
    public const string Prefix = "/api/2.0/mlflow";

    public static RouteGroupBuilder MapMlflowApi(this IEndpointRouteBuilder app)
    {
        var mlflow = app.MapGroup(Prefix).WithTags("MLflow").ExcludeFromDescription();
        MlflowExperimentsApi.Map(mlflow);
        MlflowRunsApi.Map(mlflow);
        MlflowMetricsApi.Map(mlflow);
        MlflowRegistryApi.Map(mlflow);
        mlflow.MapGet("/artifacts/list", ListRunArtifacts);
        mlflow.Map("/{**rest}", NotAnMlflowCall);
        return mlflow;
    }

    /// <summary>A run's artifacts, one directory level at a time, paths relative to the run's artifact root.</summary>
    internal static async Task<IResult> ListRunArtifacts([AsParameters] MlflowServices services, MlflowArtifactStore artifacts)
    {
        var request = await services.ReadAsync();
        var run = await services.RunAsync(request.RunId());
        var path = request.String("path");
        if (!string.IsNullOrEmpty(path) && !MlflowArtifactPath.TryNormalize(path, out _, out var problem))
        {
            throw new Tracking.TrackingException($"Invalid path '{path}': {problem}");
        }

        var root = run.Info.ArtifactUri;
        IReadOnlyList<MlflowArtifactEntry> files = root.StartsWith(MlflowArtifactPath.UriScheme, StringComparison.Ordinal)
            ? await artifacts.ListRunArtifactsAsync(root, string.IsNullOrEmpty(path) ? null : path, services.Aborted)
            : [];
        return MlflowJson.Ok(new
        {
            root_uri = root,
            files = MlflowJson.NullIfEmpty(files.Select(f => new { path = f.Path, is_dir = f.IsDirectory, file_size = f.IsDirectory ? null : f.FileSize })),
        });
    }

    /// <summary>Any other path under the prefix: MLflow's 404 in MLflow's body rather than a bare status.</summary>
    internal static IResult NotAnMlflowCall(HttpContext context) =>
        Problems.ForSurface(context.Request.Path, StatusCodes.Status404NotFound, MlflowErrorCodes.EndpointNotFound,
            $"{context.Request.Method} {context.Request.Path} is not an MLflow REST API call; check the method and the path (see MLflow's REST API 2.0).");
}
