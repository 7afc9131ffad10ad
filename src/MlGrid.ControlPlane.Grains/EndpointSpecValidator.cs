using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

/// <summary>The rules an endpoint spec must meet, checked before anything is stored.</summary>
public static class EndpointSpecValidator
{
    public const int MaxReplicas = 16;
    public const int MaxDeployments = 16;
    public const int MaxBatchSize = 1024;
    public const int MaxBatchDelayMs = 1000;
    public const int MaxRequestsPerSecond = 1_000_000;

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

            if (deployment.Batching is { } batching)
            {
                if (batching.MaxBatchSize is < 1 or > MaxBatchSize)
                {
                    throw RequestException.Invalid(
                        $"Deployment '{deployment.Name}' has batching.maxBatchSize {batching.MaxBatchSize}; use 1 to {MaxBatchSize} (1 turns batching off).");
                }

                if (batching.MaxDelayMs is < 0 or > MaxBatchDelayMs)
                {
                    throw RequestException.Invalid(
                        $"Deployment '{deployment.Name}' has batching.maxDelayMs {batching.MaxDelayMs}; use 0 to {MaxBatchDelayMs} milliseconds.");
                }
            }
        }

        ValidateSticky(spec.Sticky);
        if (spec.RateLimit is { RequestsPerSecond: < 1 or > MaxRequestsPerSecond } rateLimit)
        {
            throw RequestException.Invalid(
                $"rateLimit.requestsPerSecond {rateLimit.RequestsPerSecond} is outside 1 to {MaxRequestsPerSecond:N0}; leave 'rateLimit' out for no limit.");
        }

        if (spec.Mirror is { } mirror)
        {
            if (!names.Contains(mirror.Deployment ?? ""))
            {
                throw RequestException.Invalid($"'mirror' names deployment '{mirror.Deployment}', which the endpoint does not declare.");
            }

            if (mirror.Percent is < 0 or > 100)
            {
                throw RequestException.Invalid($"Mirror percent {mirror.Percent} is outside 0 to 100.");
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

    private static void ValidateSticky(StickySpec? sticky)
    {
        if (sticky is null)
        {
            return;
        }

        var header = string.IsNullOrEmpty(sticky.Header) ? null : sticky.Header;
        var cookie = string.IsNullOrEmpty(sticky.Cookie) ? null : sticky.Cookie;
        if ((header is null) == (cookie is null))
        {
            throw RequestException.Invalid("'sticky' needs exactly one of 'header' (e.g. \"X-User-Id\") or 'cookie'.");
        }

        var name = header ?? cookie!;
        if (name.Length > 128 || !name.All(IsTokenChar))
        {
            throw RequestException.Invalid($"Sticky {(header is null ? "cookie" : "header")} name '{name}' is not a valid HTTP token (letters, digits and !#$%&'*+-.^_`|~, at most 128).");
        }
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}
