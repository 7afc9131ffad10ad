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

        await CommitAsync(endpoints => endpoints[route.Name] = route);
    }

    public async Task Remove(string endpoint)
    {
        if (state.State.Endpoints.ContainsKey(endpoint))
        {
            await CommitAsync(endpoints => endpoints.Remove(endpoint));
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

    /// <summary>Applies a change to a copy, persists it, and only then makes it current and tells the gateways.</summary>
    private async Task CommitAsync(Action<Dictionary<string, EndpointRoute>> change)
    {
        var current = state.State;
        var endpoints = new Dictionary<string, EndpointRoute>(current.Endpoints, StringComparer.Ordinal);
        change(endpoints);
        state.State = new RoutingTableState { Version = current.Version + 1, Endpoints = endpoints };
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = current;
            throw;
        }

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
