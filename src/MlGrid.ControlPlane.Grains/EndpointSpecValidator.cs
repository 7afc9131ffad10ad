using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

/// <summary>The rules an endpoint spec must meet, checked before anything is stored.</summary>
public static class EndpointSpecValidator
{
    public const int MaxReplicas = 16;
    public const int MaxDeployments = 16;

    /// <summary>Checks everything that needs no other grain; returns the traffic weight of every deployment.</summary>
    public static Dictionary<string, int> Validate(EndpointSpec spec)
    {
        if (spec.Deployments is not { Count: > 0 })
        {
            throw RequestException.Invalid("An endpoint needs at least one deployment in 'deployments'.");
        }

        if (spec.Deployments.Count > MaxDeployments)
        {
            throw RequestException.Invalid($"An endpoint can have at most {MaxDeployments} deployments.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var deployment in spec.Deployments)
        {
            Names.EnsureValid(deployment.Name, "deployment");
            if (!names.Add(deployment.Name))
            {
                throw RequestException.Invalid($"Deployment name '{deployment.Name}' is used more than once; names must be unique.");
            }

            Names.EnsureValid(deployment.Model, "model");
            if (string.IsNullOrWhiteSpace(deployment.Version))
            {
                throw RequestException.Invalid($"Deployment '{deployment.Name}' needs a model 'version' (a number or an alias).");
            }

            if (deployment.Replicas is < 1 or > MaxReplicas)
            {
                throw RequestException.Invalid($"Deployment '{deployment.Name}' asks for {deployment.Replicas} replicas; use 1 to {MaxReplicas}.");
            }

            if (!Devices.IsKnown(deployment.Device))
            {
                throw RequestException.Invalid($"Deployment '{deployment.Name}' has device '{deployment.Device}'; use '{Devices.Auto}', '{Devices.Cpu}' or '{Devices.Gpu}'.");
            }
        }

        var traffic = spec.Traffic ?? new Dictionary<string, int>();
        if (traffic.Count == 0 && spec.Deployments.Count == 1)
        {
            return new Dictionary<string, int> { [spec.Deployments[0].Name] = 100 };
        }

        foreach (var (name, weight) in traffic)
        {
            if (!names.Contains(name))
            {
                throw RequestException.Invalid($"'traffic' names deployment '{name}', which the endpoint does not declare.");
            }

            if (weight is < 0 or > 100)
            {
                throw RequestException.Invalid($"Traffic weight {weight} for '{name}' is outside 0 to 100.");
            }
        }

        var total = traffic.Values.Sum();
        if (total != 100)
        {
            throw RequestException.Invalid($"Traffic weights sum to {total}; they must sum to 100.");
        }

        return spec.Deployments.ToDictionary(d => d.Name, d => traffic.GetValueOrDefault(d.Name), StringComparer.Ordinal);
    }
}
