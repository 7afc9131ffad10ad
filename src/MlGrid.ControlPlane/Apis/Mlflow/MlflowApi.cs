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
        return mlflow;
    }
}
