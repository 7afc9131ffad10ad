using System.Text.Json;
using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Apis;

/// <summary>One deployment in a PUT body; <see cref="Version"/> is a number or an alias string.</summary>
public sealed record DeploymentRequest(string? Name, string? Model, JsonElement Version, int? Replicas, string? Device, BatchingRequest? Batching);

/// <summary>Dynamic batching for a deployment; <c>maxBatchSize</c> 1 (or no batching object) turns it off.</summary>
public sealed record BatchingRequest(int? MaxBatchSize, int? MaxDelayMs);

/// <summary>Sticky users: the header or the cookie (exactly one) whose value keeps a caller on one deployment.</summary>
public sealed record StickyRequest(string? Header, string? Cookie);

/// <summary>Shadow traffic: a copy of <c>percent</c>% of requests goes to <c>deployment</c>.</summary>
public sealed record MirrorRequest(string? Deployment, int? Percent)
{
    public (MirrorSpec? Mirror, string? Error) ToSpec() =>
        string.IsNullOrEmpty(Deployment) || Percent is null
            ? (null, "'mirror' needs a 'deployment' and a 'percent', e.g. {\"deployment\": \"green\", \"percent\": 10}.")
            : (new MirrorSpec(Deployment, Percent.Value), null);
}

/// <summary>At most <c>requestsPerSecond</c> inference calls a second to the endpoint, through each gateway.</summary>
public sealed record RateLimitRequest(int? RequestsPerSecond);

public sealed record EndpointRequest(
    IReadOnlyList<DeploymentRequest>? Deployments,
    Dictionary<string, int>? Traffic,
    StickyRequest? Sticky,
    MirrorRequest? Mirror,
    RateLimitRequest? RateLimit = null)
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

            BatchingSpec? batching = null;
            if (d.Batching is { } b)
            {
                if (b.MaxBatchSize is null)
                {
                    return (null, $"Deployment '{d.Name}' has 'batching' without 'maxBatchSize', e.g. {{\"maxBatchSize\": 32, \"maxDelayMs\": 2}}.");
                }

                batching = new BatchingSpec(b.MaxBatchSize.Value, b.MaxDelayMs ?? 0);
            }

            deployments.Add(new DeploymentSpec(d.Name, d.Model, version, d.Replicas ?? 1, d.Device ?? Devices.Auto, batching));
        }

        MirrorSpec? mirror = null;
        if (Mirror is not null)
        {
            (mirror, var error) = Mirror.ToSpec();
            if (mirror is null)
            {
                return (null, error);
            }
        }

        RateLimitSpec? rateLimit = null;
        if (RateLimit is not null)
        {
            if (RateLimit.RequestsPerSecond is not { } requestsPerSecond)
            {
                return (null, "'rateLimit' needs 'requestsPerSecond', e.g. {\"requestsPerSecond\": 100}; leave 'rateLimit' out for no limit.");
            }

            rateLimit = new RateLimitSpec(requestsPerSecond);
        }

        var sticky = Sticky is null ? null : new StickySpec(Sticky.Header, Sticky.Cookie);
        return (new EndpointSpec(deployments, Traffic ?? [], sticky, mirror, rateLimit), null);
    }
}

/// <summary>
/// A PATCH of an endpoint's traffic: <c>{"blue": 0, "green": 100}</c>, optionally with <c>"mirror": {...}</c> (or
/// <c>null</c> to stop mirroring); <c>{"traffic": {...}, "mirror": ...}</c> is accepted too. Numbers are weights,
/// so a deployment may even be called "mirror".
/// </summary>
public static class TrafficRequest
{
    public static (TrafficChange? Change, string? Error) Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, "The body must be a JSON object of weights, e.g. {\"blue\": 0, \"green\": 100}.");
        }

        var flat = !(body.TryGetProperty("traffic", out var nested) && nested.ValueKind == JsonValueKind.Object);
        var weightsObject = flat ? body : nested;
        if (!flat && body.EnumerateObject().Select(p => p.Name).FirstOrDefault(n => n is not ("traffic" or "mirror")) is { } unknown)
        {
            return (null, $"Unknown property '{unknown}': with 'traffic' the body takes only 'traffic' and 'mirror'.");
        }

        var weights = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var property in weightsObject.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Number)
            {
                if (!property.Value.TryGetInt32(out var weight))
                {
                    return (null, $"Weight for '{property.Name}' must be a whole number from 0 to 100.");
                }

                weights[property.Name] = weight;
            }
            else if (!flat || property.Name != "mirror")
            {
                return (null, $"'{property.Name}' must be a weight (a number from 0 to 100).");
            }
        }

        var setMirror = body.TryGetProperty("mirror", out var mirrorElement) && (!flat || mirrorElement.ValueKind != JsonValueKind.Number);
        MirrorSpec? mirror = null;
        if (setMirror && mirrorElement.ValueKind != JsonValueKind.Null)
        {
            MirrorRequest? request;
            try
            {
                request = mirrorElement.Deserialize<MirrorRequest>(JsonSerializerOptions.Web);
            }
            catch (JsonException)
            {
                request = null;
            }

            if (request is null)
            {
                return (null, "'mirror' must be an object like {\"deployment\": \"green\", \"percent\": 10}, or null to stop mirroring.");
            }

            (mirror, var error) = request.ToSpec();
            if (mirror is null)
            {
                return (null, error);
            }
        }

        if (weights.Count == 0 && !setMirror)
        {
            return (null, "Nothing to change: give weights such as {\"blue\": 0, \"green\": 100} and/or a 'mirror'.");
        }

        return (new TrafficChange(weights, setMirror, mirror), null);
    }
}
