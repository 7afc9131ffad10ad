using MlGrid.Contracts;

namespace MlGrid.Governance;

/// <summary>What one call needs: a permission, and for inference the endpoint a scoped key must cover.</summary>
/// <param name="Area">The API area, for messages and the audit trail: keys, audit, models, endpoints, mlflow, inference…</param>
public sealed record AccessRule(Permission Permission, string Area, string? Endpoint = null);

/// <summary>
/// The one table of who may call what, shared by the gateway (which enforces it for every public call) and the control
/// plane (which checks it again). Anything under <c>/api</c> it does not know needs admin: new areas are closed until
/// they are added here.
/// </summary>
public static class AccessPolicy
{
    /// <summary>MLflow calls that are POSTs but only read.</summary>
    private static readonly HashSet<string> MlflowReadOnlyPosts = new(StringComparer.Ordinal)
    {
        "runs/search",
        "experiments/search",
        "logged-models/search",
        "model-versions/search",
        "registered-models/search",
        "registered-models/get-latest-versions",
    };

    /// <summary>The rule for a call, or null when it is public (health probes, server metadata).</summary>
    public static AccessRule? Rule(string method, string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0)
        {
            return null;
        }

        // Routing ignores case, so the policy must too: /API/v1/keys reaches the keys API. Endpoint names keep theirs.
        var endpointName = segments.Length >= 3 ? segments[2] : null;
        for (var i = 0; i < segments.Length; i++)
        {
            segments[i] = segments[i].ToLowerInvariant();
        }

        method = method.ToUpperInvariant();
        var reading = IsReadMethod(method);
        switch (segments[0])
        {
            case "gateway":
                return new AccessRule(Permission.Administer, "gateway");

            case "v2" when segments.Length >= 3 && segments[1] == "models":
                var endpoint = endpointName!;
                var infer = segments[^1] == "infer";
                return new AccessRule(infer || !reading ? Permission.Predict : Permission.InferenceMetadata, "inference", endpoint);

            case "v2":
                return null;

            case "api" when segments.Length >= 2 && segments[1] == "v1":
                var area = segments.Length >= 3 ? segments[2] : "api";
                if (area is "keys" or "audit")
                {
                    return new AccessRule(Permission.Administer, area);
                }

                return new AccessRule(reading ? Permission.Read : Permission.Write, area);

            case "api" when segments.Length >= 3 && segments[1] == "2.0" && segments[2] is "mlflow" or "mlflow-artifacts":
                var call = string.Join('/', segments.Skip(3));
                var readOnly = reading || (method == HttpMethods.Post && MlflowReadOnlyPosts.Contains(call));
                return new AccessRule(readOnly ? Permission.Read : Permission.Write, "mlflow");

            case "api":
                return new AccessRule(Permission.Administer, "api");

            default:
                return null;
        }
    }

    /// <summary>Whether a call changes state: such calls go into the audit trail whatever their outcome.</summary>
    public static bool IsMutating(string method, string path) =>
        Rule(method, path) is { Permission: Permission.Write or Permission.Administer } && !IsReadMethod(method);

    /// <summary>Null when the principal may make the call; otherwise the reason, naming the role needed.</summary>
    public static string? Refusal(Principal principal, AccessRule rule)
    {
        if (!Roles.Grants(principal.Role, rule.Permission))
        {
            return $"This call needs the {Roles.Describe(rule.Permission)} role; '{principal.Name}' has the {Roles.Name(principal.Role)} role.";
        }

        if (rule.Endpoint is { } endpoint && !principal.MayCall(endpoint))
        {
            return $"'{principal.Name}' is scoped to endpoint(s) {string.Join(", ", principal.Endpoints)} and may not call '{endpoint}'; "
                + "use a key whose endpoints include it, or an unscoped predictor, editor or admin key.";
        }

        return null;
    }

    private static bool IsReadMethod(string method) =>
        method is HttpMethods.Get or HttpMethods.Head or HttpMethods.Options;

    private static class HttpMethods
    {
        public const string Get = "GET";
        public const string Head = "HEAD";
        public const string Options = "OPTIONS";
        public const string Post = "POST";
    }
}
