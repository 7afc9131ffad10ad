using Microsoft.AspNetCore.Routing.Patterns;
using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Governance;

/// <summary>
/// Records every mutating call, and every call the control plane refuses itself, in the audit trail before the
/// response starts: a caller that sees the answer can rely on the entry being stored. It wraps the gateway-identity
/// check so that refusals made there are recorded too.
/// </summary>
internal sealed class AuditTrailMiddleware(RequestDelegate next, IGrainFactory grains, ILogger<AuditTrailMiddleware> logger)
{
    /// <summary>Bounds how long an answer waits on the audit trail.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public async Task InvokeAsync(HttpContext context)
    {
        var governance = context.Governance();
        var mutating = ControlPlanePolicy.IsMutating(context.Request);

        // Taken now: the exception handler clears the endpoint before it writes an error answer.
        var action = ActionOf(context);
        var recorded = false;
        Task RecordOnceAsync()
        {
            if (recorded || !(mutating || governance.Refusal is not null))
            {
                return Task.CompletedTask;
            }

            recorded = true;
            return RecordAsync(context, governance, action);
        }

        context.Response.OnStarting(RecordOnceAsync);
        await next(context);
        if (!context.Response.HasStarted)
        {
            await RecordOnceAsync();
        }
    }

    private async Task RecordAsync(HttpContext context, GovernanceFeature governance, string action)
    {
        var status = context.Response.StatusCode;
        var principal = governance.Principal;
        var entry = new AuditEvent(
            DateTimeOffset.UtcNow,
            principal?.Id ?? GovernanceFeature.Anonymous,
            principal?.Name ?? GovernanceFeature.Anonymous,
            action,
            context.Request.Path.Value ?? "/",
            governance.Refusal is null ? AuditOutcomes.Of(status) : AuditOutcomes.Refused,
            status,
            context.GetRequestId(),
            governance.Refusal ?? governance.AuditDetail);
        try
        {
            await grains.GetGrain<IAuditLogGrain>(IAuditLogGrain.Key).Append([entry]).WaitAsync(Timeout);
        }
        catch (Exception ex)
        {
            // The call has been handled; failing its answer now would not undo it.
            logger.LogError(ex, "Could not record {Action} on {Target} ({Status}) by {Principal} in the audit trail",
                entry.Action, entry.Target, entry.Status, entry.Principal);
        }
    }

    /// <summary>"PUT /api/v1/endpoints/{name}": the route's pattern when one matched, so entries group by operation.</summary>
    private static string ActionOf(HttpContext context)
    {
        var method = context.Request.Method;
        if (context.GetEndpoint() is RouteEndpoint { RoutePattern: RoutePattern { RawText: { Length: > 0 } raw } })
        {
            var pattern = "/" + raw.Trim('/');
            return $"{method} {pattern}";
        }

        return $"{method} {context.Request.Path.Value ?? "/"}";
    }
}
