using MlGrid.Gateway.Http;
using MlGrid.Governance;

namespace MlGrid.Gateway.Auth;

/// <summary>The one way the gateway refuses a call (401, 403, 413, 429): recorded in the audit trail, answered in the surface's error body.</summary>
internal sealed class Refusals(AuditForwarder audit)
{
    /// <param name="message">Shown to the caller and recorded as the reason: it must never repeat a credential.</param>
    /// <param name="principalId">Who to record when no principal was authenticated (the id of a key that did not check out).</param>
    public Task RefuseAsync(HttpContext context, int status, string message, string? principalId = null)
    {
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";

            // Say what a working key must carry, so the caller asks for the right one.
            if (context.GetGatewayCall()?.Rule is { } rule)
            {
                message += $" This call needs a key with the {Roles.Describe(rule.Permission)} role.";
            }
        }

        audit.Refused(context, status, message, principalId);

        return SurfaceErrors.WriteAsync(context, status, message);
    }
}
