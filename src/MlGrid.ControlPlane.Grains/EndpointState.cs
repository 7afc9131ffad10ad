using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

/// <summary>A deployment with its model version resolved (an alias becomes the number it pointed at when applied).</summary>
public sealed record ResolvedDeployment(
    string Name,
    string Model,
    string RequestedVersion,
    int ModelVersion,
    string Sha256,
    ModelSignature Signature,
    int Replicas,
    string Device,
    int Weight,
    BatchingSpec? Batching = null);

/// <summary>Which worker a replica was placed on; kept so that a restarted control plane finds replicas where they are.</summary>
public sealed record ReplicaPlacement(string Id, string Deployment, string WorkerId, string WorkerUrl);

public sealed class EndpointState
{
    public EndpointSpec? Spec { get; set; }

    public List<ResolvedDeployment> Deployments { get; set; } = [];

    public List<ReplicaPlacement> Placements { get; set; } = [];

    public long Generation { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
