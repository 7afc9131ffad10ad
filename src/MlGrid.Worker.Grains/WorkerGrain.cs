using MlGrid.Hosting.Placement;
using MlGrid.Contracts;

namespace MlGrid.Worker.Grains;

/// <summary>
/// The agent of one worker silo. Its key is the silo's address and it refuses to live anywhere else, so a call to it
/// always reaches the model host of that worker.
/// </summary>
[GrainType("mlgrid.worker")]
[WorkerPlacementFilter]
public sealed class WorkerGrain(ModelHost host, TrainingHost training, ILocalSiloDetails silo) : Grain, IWorkerGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var here = silo.SiloAddress.ToParsableString();
        if (this.GetPrimaryKeyString() != here)
        {
            throw new InvalidOperationException(
                $"Worker agent {this.GetPrimaryKeyString()} was placed on {here}; that worker is gone.");
        }

        return Task.CompletedTask;
    }

    public Task<ReplicaReport> EnsureReplica(ReplicaAssignment assignment) => Task.FromResult(host.Ensure(assignment));

    public Task RemoveReplica(string replicaId)
    {
        host.Remove(replicaId);
        return Task.CompletedTask;
    }

    public Task<bool> StartTraining(TrainingAssignment assignment) => Task.FromResult(training.Start(assignment));

    public Task CancelTraining(string jobId, int attempt)
    {
        training.Cancel(jobId, attempt);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<TrainingAttemptRef>> TrainingAttempts() => Task.FromResult(training.Attempts);
}
