using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace MlGrid.Gateway.Routing;

/// <summary>
/// Passive health for replica clusters: a replica the gateway could not reach (connection refused or reset before
/// any answer) is taken out of rotation at once for the cluster's reactivation period, or until the routing table
/// drops it.
/// </summary>
/// <remarks>
/// YARP's built-in TransportFailureRate policy does not work on the inference routes. YARP's passive-health middleware
/// reports each request against <c>context.GetRouteModel().Cluster</c>, the cluster the route was configured with,
/// which for inference is the empty "unrouted" cluster, because <see cref="InferenceRouting"/> reassigns each request to
/// a deployment's cluster. The built-in policy then sets the destination's health but rebuilds (and later reactivates)
/// the wrong cluster's destination list, so a dead replica stays in its deployment's rotation; it also judges only after
/// ten requests a minute. This policy finds the request's own cluster and acts on the first failure, which the retry
/// step needs. Passive health itself does not empty a cluster: health starts Unknown, which counts as available, and
/// YARP's default HealthyOrPanic policy falls back to every destination when all are unhealthy (the gateway tests
/// cover new clusters and clusters that gain their first replica).
/// </remarks>
internal sealed class ReplicaHealthPolicy(IServiceProvider services) : IPassiveHealthCheckPolicy
{
    public const string PolicyName = "MlGridReplicaFailure";

    public static readonly TimeSpan DefaultReactivation = TimeSpan.FromSeconds(10);

    // Resolved late: YARP's configuration validators depend on the passive policies, and the lookup on the validators.
    private IProxyStateLookup? _lookup;
    private IDestinationHealthUpdater? _health;

    public string Name => PolicyName;

    public void RequestProxied(HttpContext context, ClusterState cluster, DestinationState destination)
    {
        if (!IsReplicaFailure(context))
        {
            return;
        }

        var clusterId = context.GetReverseProxyFeature().Cluster.Config.ClusterId;
        if (!string.Equals(clusterId, cluster.ClusterId, StringComparison.OrdinalIgnoreCase))
        {
            _lookup ??= services.GetRequiredService<IProxyStateLookup>();
            if (!_lookup.TryGetCluster(clusterId, out var actual))
            {
                return;
            }

            cluster = actual;
        }

        _health ??= services.GetRequiredService<IDestinationHealthUpdater>();
        _health.SetPassive(cluster, destination, DestinationHealth.Unhealthy,
            cluster.Model.Config.HealthCheck?.Passive?.ReactivationPeriod ?? DefaultReactivation);
    }

    /// <summary>The replica could not be reached, and not because the caller went away.</summary>
    internal static bool IsReplicaFailure(HttpContext context) =>
        context.Features.Get<IForwarderErrorFeature>() is { Error: ForwarderError.Request }
        && !context.RequestAborted.IsCancellationRequested;
}
