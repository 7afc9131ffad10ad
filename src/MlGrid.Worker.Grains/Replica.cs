using MlGrid.Contracts;
using MlGrid.Inference;

namespace MlGrid.Worker.Grains;

/// <summary>One deployment replica on this worker: its assignment, its state and, once ready, its model.</summary>
public sealed class Replica(ReplicaAssignment assignment)
{
    private volatile ReplicaReport _report = new(assignment.ReplicaId, DeploymentStatus.Loading, null, null);

    public ReplicaAssignment Assignment { get; } = assignment;

    public ReplicaReport Report => _report;

    /// <summary>The model, once the replica is ready.</summary>
    public OnnxModel? Model { get; private set; }

    internal CancellationTokenSource Stopping { get; } = new();

    internal void MarkReady(OnnxModel model)
    {
        Model = model;
        _report = new ReplicaReport(Assignment.ReplicaId, DeploymentStatus.Ready, model.FallbackReason, model.ExecutionProvider);
    }

    internal void MarkFailed(string reason) =>
        _report = new ReplicaReport(Assignment.ReplicaId, DeploymentStatus.Failed, reason, null);
}
