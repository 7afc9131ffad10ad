using MlGrid.Governance;

namespace MlGrid.ControlPlane.Governance;

/// <summary>The shared access policy as the control plane applies it to its own requests.</summary>
internal static class ControlPlanePolicy
{
    /// <summary>Health probes, the only calls that need no gateway identity.</summary>
    public static bool IsOpen(PathString path) =>
        path.Equals(ServiceDefaultsExtensions.HealthPath, StringComparison.OrdinalIgnoreCase)
        || path.Equals(ServiceDefaultsExtensions.AlivePath, StringComparison.OrdinalIgnoreCase);

    /// <summary>The policy's rule for a call; a path the policy leaves open (it is not under /api) needs admin here.</summary>
    public static AccessRule RuleFor(HttpRequest request) =>
        AccessPolicy.Rule(request.Method, request.Path.Value is { Length: > 0 } path ? path : "/") ?? new AccessRule(Permission.Administer, "api");

    /// <summary>Whether a call changes state, and so goes into the audit trail whatever its outcome.</summary>
    public static bool IsMutating(HttpRequest request) =>
        !IsOpen(request.Path) && AccessPolicy.IsMutating(request.Method, request.Path.Value is { Length: > 0 } path ? path : "/");

    /// <summary>MLflow's REST API, whose clients expect MLflow's error body rather than problem details.</summary>
    public static bool IsMlflow(PathString path) =>
        path.Value is { } value && value.StartsWith("/api/2.0/mlflow", StringComparison.OrdinalIgnoreCase);
}
