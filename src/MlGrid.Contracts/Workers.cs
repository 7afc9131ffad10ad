namespace MlGrid.Contracts;

/// <summary>A model replica a worker is asked to load and serve.</summary>
[GenerateSerializer, Immutable, Alias("mlgrid.replica-assignment")]
public sealed record ReplicaAssignment(
    [property: Id(0)] string ReplicaId,
    [property: Id(1)] string Endpoint,
    [property: Id(2)] string Deployment,
    [property: Id(3)] string Model,
    [property: Id(4)] int ModelVersion,
    [property: Id(5)] string Sha256,
    [property: Id(6)] string Device,
    [property: Id(7)] BatchingSpec? Batching = null);

/// <summary>
/// The agent of one worker silo, keyed by that silo's address. It is only ever activated on the silo its key names,
/// so calling it reaches that worker's model host.
/// </summary>
[Alias("mlgrid.worker")]
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>Starts loading the replica (or does nothing if it is there); progress is reported to the endpoint grain.</summary>
    [Alias("ensure-replica")]
    Task<ReplicaReport> EnsureReplica(ReplicaAssignment assignment);

    [Alias("remove-replica")]
    Task RemoveReplica(string replicaId);

    /// <summary>Starts an attempt of a training job in the background; false when every training slot is taken.</summary>
    [Alias("start-training")]
    Task<bool> StartTraining(TrainingAssignment assignment);

    /// <summary>Stops an attempt (does nothing if the worker does not hold it).</summary>
    [Alias("cancel-training")]
    Task CancelTraining(string jobId, int attempt);

    /// <summary>The attempts this worker holds: running, or finished and still reporting.</summary>
    [Alias("training-attempts")]
    Task<IReadOnlyList<TrainingAttemptRef>> TrainingAttempts();
}
