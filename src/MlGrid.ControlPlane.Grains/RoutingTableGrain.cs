using Microsoft.Extensions.Logging;
using MlGrid.Contracts;
using Orleans.Utilities;

namespace MlGrid.ControlPlane.Grains;

public sealed class RoutingTableState
{
    public long Version { get; set; }

    public Dictionary<string, EndpointRoute> Endpoints { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Holds the versioned routing table and pushes every change to subscribed gateways. It is persisted so that a
/// restarted control plane hands gateways the last table before any endpoint has reported in again.
/// </summary>
[GrainType("mlgrid.routing-table")]
public sealed class RoutingTableGrain(
    [PersistentState("state", StorageNames.GrainState)] IPersistentState<RoutingTableState> state,
    ILogger<RoutingTableGrain> logger) : Grain, IRoutingTableGrain
{
    /// <summary>Gateways renew their subscription well within this.</summary>
    public static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromMinutes(1);

    private readonly ObserverManager<IRoutingObserver> _observers = new(SubscriptionLifetime, logger);

    public async Task Publish(EndpointRoute route)
    {
        if (state.State.Endpoints.TryGetValue(route.Name, out var current) && Same(current, route))
        {
            return;
        }

        state.State.Endpoints[route.Name] = route;
        await CommitAsync();
    }

    public async Task Remove(string endpoint)
    {
        if (state.State.Endpoints.Remove(endpoint))
        {
            await CommitAsync();
        }
    }

    public Task<RoutingTable> Get() => Task.FromResult(Snapshot());

    public Task Subscribe(IRoutingObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    public Task Unsubscribe(IRoutingObserver observer)
    {
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    private async Task CommitAsync()
    {
        state.State.Version++;
        await state.WriteStateAsync();
        var table = Snapshot();
        logger.LogInformation("Routing table version {Version}: {Endpoints} endpoint(s)", table.Version, table.Endpoints.Count);
        _observers.Notify(o => o.OnRoutingChanged(table));
    }

    private RoutingTable Snapshot() =>
        new(state.State.Version, new Dictionary<string, EndpointRoute>(state.State.Endpoints, StringComparer.Ordinal));

    private static bool Same(EndpointRoute a, EndpointRoute b) =>
        a.Generation == b.Generation
        && a.Deployments.Count == b.Deployments.Count
        && a.Deployments.Zip(b.Deployments).All(p =>
            p.First.Name == p.Second.Name
            && p.First.ModelVersion == p.Second.ModelVersion
            && p.First.Weight == p.Second.Weight
            && p.First.ReplicaUrls.SequenceEqual(p.Second.ReplicaUrls));
}
