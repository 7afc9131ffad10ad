using System.Globalization;
using MlGrid.Contracts;
using MlGrid.Gateway.Stats;

namespace MlGrid.Gateway.Routing;

/// <summary>
/// What a request needs for the deployment it is routed to besides the route itself: the YARP cluster id, the model
/// version as header text and the deployment's statistics. Built once per routing table and found by reference to the table's route objects, so that
/// a routed request builds no strings and hashes no names for them.
/// </summary>
internal sealed class DeploymentTargets
{
    private readonly GatewayStats _stats;
    private volatile Dictionary<EndpointRoute, Entry> _endpoints;

    public DeploymentTargets(RoutingState state, GatewayStats stats)
    {
        _stats = stats;
        state.Changed += table => _endpoints = Build(table);
        _endpoints = Build(state.Table ?? RoutingTable.Empty);
    }

    /// <summary>The target of <paramref name="deployment"/>, one of <paramref name="endpoint"/>'s deployments, reached under <paramref name="endpointName"/>.</summary>
    public DeploymentTarget For(string endpointName, EndpointRoute endpoint, DeploymentRoute deployment)
    {
        if (_endpoints.TryGetValue(endpoint, out var entry) && entry.Name == endpointName)
        {
            foreach (var target in entry.Targets)
            {
                if (ReferenceEquals(target.Route, deployment))
                {
                    return target;
                }
            }
        }

        // A route of a table this cache has not seen (it follows the same table changes, so only in a race): build it.
        return new DeploymentTarget(_stats, endpointName, deployment);
    }

    private Dictionary<EndpointRoute, Entry> Build(RoutingTable table)
    {
        // By reference: the routes are records, and equal values of two tables must still be told apart.
        var endpoints = new Dictionary<EndpointRoute, Entry>(table.Endpoints.Count, ReferenceEqualityComparer.Instance);
        foreach (var (name, endpoint) in table.Endpoints)
        {
            endpoints[endpoint] = new Entry(name, endpoint.Deployments.Select(d => new DeploymentTarget(_stats, name, d)).ToArray());
        }

        return endpoints;
    }

    private sealed record Entry(string Name, DeploymentTarget[] Targets);
}

/// <summary>One deployment of one endpoint as the proxy addresses it.</summary>
internal sealed class DeploymentTarget(GatewayStats stats, string endpoint, DeploymentRoute route)
{
    private DeploymentStats? _stats;

    public DeploymentRoute Route { get; } = route;

    public string ClusterId { get; } = ProxyConfigProvider.ClusterId(endpoint, route.Name);

    /// <summary>The model version as the response header carries it.</summary>
    public string ModelVersion { get; } = route.ModelVersion.ToString(CultureInfo.InvariantCulture);

    /// <summary>Looked up on first use, so that the statistics list only deployments that have had traffic.</summary>
    public DeploymentStats Stats => _stats ??= stats.For(endpoint, Route.Name);
}
