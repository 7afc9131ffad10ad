using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using MlGrid.ControlPlane.Apis;
using MlGrid.Governance;

namespace MlGrid.ControlPlane.Governance;

/// <summary>
/// Accepts only calls that came through a gateway (they carry the internal key) and checks the forwarded principal
/// against the access policy again, so a call that reaches the control plane around the gateway, or a gap in the
/// gateway's checks, is refused here. Only the health probes are open.
/// </summary>
internal sealed class GatewayIdentityMiddleware(RequestDelegate next, IOptions<GovernanceOptions> options)
{
    public const string NotThroughGateway = "The management API is served through the gateway: call it there with an API key.";

    private readonly byte[] _internalKey = Encoding.UTF8.GetBytes(options.Value.InternalKey);

    public Task InvokeAsync(HttpContext context)
    {
        if (ControlPlanePolicy.IsOpen(context.Request.Path))
        {
            return next(context);
        }

        var governance = context.Governance();
        var headers = context.Request.Headers;
        var principal = HasInternalKey(headers[ForwardedIdentity.InternalKeyHeader])
            ? ForwardedIdentity.Decode(headers[ForwardedIdentity.PrincipalHeader], headers[ForwardedIdentity.PrincipalNameHeader], headers[ForwardedIdentity.RoleHeader])
            : null;
        if (principal is null)
        {
            governance.Refusal = "The call did not come through a gateway: no valid internal key and forwarded principal.";
            return RefuseAsync(context, StatusCodes.Status401Unauthorized, NotThroughGateway);
        }

        governance.Principal = principal;
        if (AccessPolicy.Refusal(principal, ControlPlanePolicy.RuleFor(context.Request)) is { } refusal)
        {
            governance.Refusal = refusal;
            return RefuseAsync(context, StatusCodes.Status403Forbidden, refusal);
        }

        return next(context);
    }

    private bool HasInternalKey(StringValues values) =>
        values is [{ } presented] && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _internalKey);

    private static Task RefuseAsync(HttpContext context, int status, string message) =>
        Problems.ForSurface(context.Request.Path, status,
            status == StatusCodes.Status401Unauthorized ? "UNAUTHENTICATED" : "PERMISSION_DENIED", message).ExecuteAsync(context);
}
