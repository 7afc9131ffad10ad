using MlGrid.Contracts;
using MlGrid.ControlPlane.Grains;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>What the MLflow handlers need, bound with <c>[AsParameters]</c>.</summary>
internal sealed record MlflowServices(
    HttpContext Context,
    IGrainFactory Grains,
    MetricHistoryStore History,
    ILogger<MlflowServices> Logger)
{
    public CancellationToken Aborted => Context.RequestAborted;

    public Task<MlflowRequest> ReadAsync() => MlflowRequest.ReadAsync(Context.Request, Aborted);

    public IExperimentCatalogGrain Catalog => Grains.GetGrain<IExperimentCatalogGrain>(IExperimentCatalogGrain.Key);

    public async Task<ExperimentInfo> ExperimentAsync(string experimentId) =>
        await Grains.GetGrain<IExperimentGrain>(experimentId).Get()
        ?? throw RequestException.NotFound($"No Experiment with id={experimentId} exists");

    public async Task<RunRecord> RunAsync(string runId) =>
        await Grains.GetGrain<IRunGrain>(runId).Get()
        ?? throw RequestException.NotFound($"Run with id={runId} not found");
}
