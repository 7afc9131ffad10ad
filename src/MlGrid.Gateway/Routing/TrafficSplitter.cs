using MlGrid.Contracts;

namespace MlGrid.Gateway.Routing;

/// <summary>Picks the deployment that serves a request, by traffic weight among deployments with a ready replica.</summary>
public static class TrafficSplitter
{
    /// <summary>
    /// <paramref name="sample"/> is uniform in [0, 1). Deployments without a ready replica are skipped and the
    /// weights of the rest renormalised, so a deployment that is still loading does not turn requests away.
    /// </summary>
    public static DeploymentRoute? Choose(IReadOnlyList<DeploymentRoute> deployments, double sample)
    {
        var total = 0;
        foreach (var d in deployments)
        {
            if (d.Weight > 0 && d.ReplicaUrls.Count > 0)
            {
                total += d.Weight;
            }
        }

        if (total == 0)
        {
            return null;
        }

        var point = sample * total;
        DeploymentRoute? last = null;
        foreach (var d in deployments)
        {
            if (d.Weight <= 0 || d.ReplicaUrls.Count == 0)
            {
                continue;
            }

            last = d;
            point -= d.Weight;
            if (point < 0)
            {
                return d;
            }
        }

        return last;
    }
}
