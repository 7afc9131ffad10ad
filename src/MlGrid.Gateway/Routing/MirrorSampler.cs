using MlGrid.Contracts;

namespace MlGrid.Gateway.Routing;

/// <summary>Decides whether a request routed to a live deployment is also copied to the endpoint's shadow deployment.</summary>
public static class MirrorSampler
{
    /// <summary>
    /// The shadow deployment for this request, or null. <paramref name="sample"/> is uniform in [0, 1); a request is
    /// mirrored when it falls under the mirror's percentage, the shadow deployment has a ready replica and it is not the
    /// deployment that already serves the request.
    /// </summary>
    public static DeploymentRoute? Choose(EndpointRoute endpoint, DeploymentRoute live, double sample)
    {
        if (endpoint.Mirror is not { Percent: > 0 } mirror || mirror.Deployment == live.Name || sample * 100 >= mirror.Percent)
        {
            return null;
        }

        foreach (var d in endpoint.Deployments)
        {
            if (d.Name == mirror.Deployment)
            {
                return d.ReplicaUrls.Count > 0 ? d : null;
            }
        }

        return null;
    }
}
