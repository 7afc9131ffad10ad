using MlGrid.Contracts;
using Orleans.Metadata;
using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace MlGrid.Hosting.Placement;

/// <summary>
/// Places a grain only on worker silos and, when the call that activates it asks for a GPU
/// (<see cref="WorkerPlacement.DeviceKey"/> = <c>gpu</c> in the request context), only on workers that published a GPU.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class WorkerPlacementFilterAttribute() : PlacementFilterAttribute(new WorkerPlacementFilterStrategy());

public sealed class WorkerPlacementFilterStrategy() : PlacementFilterStrategy(order: 0)
{
    public override void AdditionalInitialize(GrainProperties properties)
    {
    }

    protected override IEnumerable<KeyValuePair<string, string>> GetAdditionalGrainProperties(
        IServiceProvider services, Type grainClass, GrainType grainType, IReadOnlyDictionary<string, string> existingProperties) => [];
}

public sealed class WorkerPlacementFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target, IEnumerable<SiloAddress> silos)
    {
        var needsGpu = target.RequestContextData is { } data
            && data.TryGetValue(WorkerPlacement.DeviceKey, out var device)
            && device is string text && text == Devices.Gpu;
        return silos.Where(silo => WorkerPlacement.Fits(metadata.GetSiloMetadata(silo).Metadata, needsGpu));
    }
}
