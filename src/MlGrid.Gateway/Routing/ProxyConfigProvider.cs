using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using MlGrid.Contracts;
using Yarp.ReverseProxy.Configuration;

namespace MlGrid.Gateway.Routing;

/// <summary>
/// YARP's configuration, derived from the routing table: one cluster per deployment whose destinations are the
/// deployment's ready replicas. Each table yields a new immutable snapshot; the old one's change token fires.
/// </summary>
internal sealed class ProxyConfigProvider : IProxyConfigProvider
{
    public const string ControlPlaneRoute = "control-plane";
    public const string InferenceRoute = "inference";
    public const string PinnedInferenceRoute = "inference-pinned";
    public const string UnroutedCluster = "unrouted";

    /// <summary>
    /// Passive health on replica clusters: a replica the gateway cannot reach leaves the rotation for a while (see
    /// <see cref="ReplicaHealthPolicy"/>). Health states start Unknown, which counts as available, so a new cluster
    /// serves at once.
    /// </summary>
    private static readonly HealthCheckConfig ReplicaHealth = new()
    {
        Passive = new PassiveHealthCheckConfig
        {
            Enabled = true,
            Policy = ReplicaHealthPolicy.PolicyName,
            ReactivationPeriod = ReplicaHealthPolicy.DefaultReactivation,
        },
    };

    private readonly string _controlPlaneUrl;
    private Snapshot _snapshot;

    public ProxyConfigProvider(RoutingState state, IOptions<GatewayOptions> options, IConfiguration configuration)
    {
        _controlPlaneUrl = options.Value.ControlPlaneUrl is { Length: > 0 } url
            ? url
            : configuration[GatewaySettings.ControlPlaneUrlKey]
              ?? throw new InvalidOperationException("Set Gateway:ControlPlaneUrl or reference the control plane from the AppHost.");
        _snapshot = Build(state.Table ?? RoutingTable.Empty);
        state.Changed += table => Interlocked.Exchange(ref _snapshot, Build(table)).SignalChange();
    }

    public static string ClusterId(string endpoint, string deployment) => $"{endpoint}/{deployment}";

    public IProxyConfig GetConfig() => Volatile.Read(ref _snapshot);

    private Snapshot Build(RoutingTable table)
    {
        var routes = new List<RouteConfig>
        {
            // No MaxRequestBodySize on any route: the body limits step sets it per call (JSON calls and uploads share
            // /api), and YARP would overwrite that with the route's value.
            new() { RouteId = ControlPlaneRoute, ClusterId = ControlPlaneRoute, Match = new RouteMatch { Path = "/api/{**rest}" } },
            new()
            {
                RouteId = InferenceRoute,
                ClusterId = UnroutedCluster,
                Match = new RouteMatch { Path = "/v2/models/{endpoint}/infer", Methods = ["POST"] },
            },
            new()
            {
                RouteId = PinnedInferenceRoute,
                ClusterId = UnroutedCluster,
                Match = new RouteMatch { Path = "/v2/models/{endpoint}/versions/{deployment}/infer", Methods = ["POST"] },
            },
        };

        var clusters = new List<ClusterConfig>
        {
            new()
            {
                ClusterId = ControlPlaneRoute,
                Destinations = new Dictionary<string, DestinationConfig> { ["control-plane"] = new() { Address = _controlPlaneUrl } },
            },
            new() { ClusterId = UnroutedCluster, Destinations = new Dictionary<string, DestinationConfig>() },
        };

        foreach (var endpoint in table.Endpoints.Values)
        {
            foreach (var deployment in endpoint.Deployments)
            {
                clusters.Add(new ClusterConfig
                {
                    ClusterId = ClusterId(endpoint.Name, deployment.Name),
                    LoadBalancingPolicy = "PowerOfTwoChoices",
                    HealthCheck = ReplicaHealth,
                    Destinations = deployment.ReplicaUrls.ToDictionary(u => u, u => new DestinationConfig { Address = u }),
                });
            }
        }

        return new Snapshot(routes, clusters);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token source has no timer; listeners may hold its token after the change, so it is left to the collector.")]
    private sealed class Snapshot : IProxyConfig
    {
        private readonly CancellationTokenSource _changed = new();

        public Snapshot(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters)
        {
            Routes = routes;
            Clusters = clusters;
            ChangeToken = new CancellationChangeToken(_changed.Token);
        }

        public IReadOnlyList<RouteConfig> Routes { get; }

        public IReadOnlyList<ClusterConfig> Clusters { get; }

        public IChangeToken ChangeToken { get; }

        public void SignalChange() => _changed.Cancel();
    }
}
