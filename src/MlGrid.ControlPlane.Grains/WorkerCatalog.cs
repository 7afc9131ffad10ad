using MlGrid.Contracts;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace MlGrid.ControlPlane.Grains;

/// <summary>A worker silo that is up: its id (the silo address), where it serves inference, and the capacity it published.</summary>
public sealed record WorkerInfo(
    string Id,
    string InferenceUrl,
    bool HasGpu,
    int? CpuCores = null,
    long? MemoryBytes = null,
    string? GpuName = null,
    long? GpuMemoryBytes = null,
    int TrainingSlots = 0);

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
            if (WorkerPlacement.Fits(values, needsGpu: false)
                && values.TryGetValue(SiloRoles.InferenceUrlKey, out var url) && !string.IsNullOrEmpty(url))
            {
                workers.Add(new WorkerInfo(
                    member.SiloAddress.ToParsableString(),
                    url.TrimEnd('/'),
                    WorkerPlacement.Fits(values, needsGpu: true),
                    (int?)WorkerPlacement.ReadLong(values, SiloRoles.CpuCoresKey),
                    WorkerPlacement.ReadLong(values, SiloRoles.MemoryBytesKey),
                    values.GetValueOrDefault(SiloRoles.GpuNameKey),
                    WorkerPlacement.ReadLong(values, SiloRoles.GpuMemoryBytesKey),
                    (int)(WorkerPlacement.ReadLong(values, TrainingSlots.MetadataKey) ?? 0)));
            }
        }

        return workers;
    }

    public bool IsActive(string workerId) =>
        membership.CurrentSnapshot.Members.Values.Any(m => m.Status == SiloStatus.Active && m.SiloAddress.ToParsableString() == workerId);
}
