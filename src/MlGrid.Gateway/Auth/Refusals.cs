using MlGrid.Gateway.Http;

namespace MlGrid.Gateway.Auth;

/// <summary>The one way the gateway refuses a call (401, 403, 413, 429): recorded in the audit trail, answered in the surface's error body.</summary>
internal sealed class Refusals(AuditForwarder audit)
{
    /// <param name="message">Shown to the caller and recorded as the reason: it must never repeat a credential.</param>
    /// <param name="principalId">Who to record when no principal was authenticated (the id of a key that did not check out).</param>
    public Task RefuseAsync(HttpContext context, int status, string message, string? principalId = null)
    {
        audit.Refused(context, status, message, principalId);
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return SurfaceErrors.WriteAsync(context, status, message);
    }
}
