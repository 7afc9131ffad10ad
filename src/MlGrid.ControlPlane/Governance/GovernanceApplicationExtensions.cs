namespace MlGrid.ControlPlane.Governance;

public static class GovernanceApplicationExtensions
{
    /// <summary>
    /// The audit trail around the gateway-identity check: the check's refusals are audited, and every handler after
    /// it knows who is calling.
    /// </summary>
    public static IApplicationBuilder UseGovernance(this IApplicationBuilder app) =>
        app.UseMiddleware<AuditTrailMiddleware>()
            .UseMiddleware<GatewayIdentityMiddleware>();
}
