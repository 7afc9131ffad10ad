using MlGrid.Contracts;
using MlGrid.Inference;

namespace MlGrid.Worker.Grains;

/// <summary>One deployment replica on this worker: its assignment, its state and, once ready, its session.</summary>
public sealed class Replica(ReplicaAssignment assignment, string worker)
{
    private volatile ReplicaReport _report = new(assignment.ReplicaId, DeploymentStatus.Loading, null, null, worker);
    private volatile LoadedModel? _model;
    private volatile DynamicBatcher? _batcher;

    public ReplicaAssignment Assignment { get; } = assignment;

    public ReplicaReport Report => _report;

    /// <summary>A lease on the replica's session for one request, or null when it is not ready (or going away).</summary>
    public LoadedModel.Lease? TryLease() =>
        _report.Status == DeploymentStatus.Ready && _model is { } model ? model.TryLease() : null;

    internal LoadedModel? Model => _model;

    /// <summary>The replica's batcher when its deployment asks for batching and it is ready, else null.</summary>
    public DynamicBatcher? Batcher => _batcher;

    /// <summary>
    /// Runs one validated request on the leased session and returns its outputs (all of them when
    /// <paramref name="outputs"/> is null). Requests may be batched with concurrent ones when the deployment asks for it.
    /// </summary>
    public ValueTask<IReadOnlyList<InferenceTensor>> RunAsync(
        LoadedModel.Lease lease, IReadOnlyList<InferenceTensor> inputs, IReadOnlyList<string>? outputs, CancellationToken cancellationToken) =>
        _batcher is { } batcher
            ? batcher.RunAsync(lease, inputs, outputs, cancellationToken)
            : ValueTask.FromResult(lease.Model.Run(inputs, outputs));

    internal CancellationTokenSource Stopping { get; } = new();

    /// <summary>Serves <paramref name="model"/> from now on, through <paramref name="batcher"/> when the deployment batches.</summary>
    internal void MarkReady(LoadedModel model, DynamicBatcher? batcher)
    {
        _batcher = batcher;
        _model = model;
        _report = new ReplicaReport(Assignment.ReplicaId, DeploymentStatus.Ready, model.Model.FallbackReason, model.Model.ExecutionProvider, worker);
    }

    /// <summary>Stops loading and batching; requests already queued still run on the sessions their callers leased.</summary>
    internal void Stop()
    {
        Stopping.Cancel();
        _batcher?.Stop();
    }

    internal void MarkFailed(string reason) =>
        _report = new ReplicaReport(Assignment.ReplicaId, DeploymentStatus.Failed, reason, null, worker);
}
