using System.Text.Json;
using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Apis;

/// <summary>One deployment in a PUT body; <see cref="Version"/> is a number or an alias string.</summary>
public sealed record DeploymentRequest(string? Name, string? Model, JsonElement Version, int? Replicas, string? Device);

public sealed record EndpointRequest(IReadOnlyList<DeploymentRequest>? Deployments, Dictionary<string, int>? Traffic)
{
    /// <summary>The grain's spec, or a message saying what is missing.</summary>
    public (EndpointSpec? Spec, string? Error) ToSpec()
    {
        if (Deployments is not { Count: > 0 })
        {
            return (null, "An endpoint needs a non-empty 'deployments' array.");
        }

        var deployments = new List<DeploymentSpec>(Deployments.Count);
        foreach (var d in Deployments)
        {
            if (d is null || string.IsNullOrEmpty(d.Name) || string.IsNullOrEmpty(d.Model))
            {
                return (null, "Each deployment needs a 'name' and a 'model'.");
            }

            var version = d.Version.ValueKind switch
            {
                JsonValueKind.Number when d.Version.TryGetInt32(out var number) && number > 0 => number.ToString(System.Globalization.CultureInfo.InvariantCulture),
                JsonValueKind.String when !string.IsNullOrWhiteSpace(d.Version.GetString()) => d.Version.GetString(),
                _ => null,
            };
            if (version is null)
            {
                return (null, $"Deployment '{d.Name}' needs a 'version': a positive version number or an alias such as \"champion\".");
            }

            deployments.Add(new DeploymentSpec(d.Name, d.Model, version, d.Replicas ?? 1, d.Device ?? Devices.Auto));
        }

        return (new EndpointSpec(deployments, Traffic ?? []), null);
    }
}
