using MlGrid.Contracts;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace MlGrid.ControlPlane.Grains;

/// <summary>A worker silo that is up: its id (the silo address), where it serves inference, and whether it has a GPU.</summary>
public sealed record WorkerInfo(string Id, string InferenceUrl, bool HasGpu);

/// <summary>The live worker silos, read from cluster membership and the metadata each worker publishes.</summary>
public interface IWorkerCatalog
{
    /// <summary>Workers that are up and whose metadata is known, so replicas can be placed on them.</summary>
    IReadOnlyList<WorkerInfo> LiveWorkers();

    /// <summary>Whether the silo is an active cluster member (its metadata may not be cached yet).</summary>
    bool IsActive(string workerId);
}

public sealed class WorkerCatalog(IClusterMembershipService membership, ISiloMetadataCache metadata) : IWorkerCatalog
{
    public IReadOnlyList<WorkerInfo> LiveWorkers()
    {
        var workers = new List<WorkerInfo>();
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status != SiloStatus.Active)
            {
                continue;
            }

            var values = metadata.GetSiloMetadata(member.SiloAddress).Metadata;
            if (values.TryGetValue(SiloRoles.RoleKey, out var role) && role == SiloRoles.Worker
                && values.TryGetValue(SiloRoles.InferenceUrlKey, out var url) && !string.IsNullOrEmpty(url))
            {
                var gpu = values.TryGetValue(SiloRoles.GpuKey, out var g) && bool.TryParse(g, out var hasGpu) && hasGpu;
                workers.Add(new WorkerInfo(member.SiloAddress.ToParsableString(), url.TrimEnd('/'), gpu));
            }
        }

        return workers;
    }

    public bool IsActive(string workerId) =>
        membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && m.SiloAddress.ToParsableString() == workerId);
}
