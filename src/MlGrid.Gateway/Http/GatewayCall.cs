using MlGrid.Governance;

namespace MlGrid.Gateway.Http;

/// <summary>
/// What the gateway learned about one call, kept on the request for the steps after the one that learned it: the
/// request id (every call), and for calls the access policy covers, the rule and the authenticated principal.
/// </summary>
internal sealed class GatewayCall(string requestId)
{
    public string RequestId { get; } = requestId;

    /// <summary>Null for public calls (health probes, server metadata).</summary>
    public AccessRule? Rule { get; set; }

    /// <summary>Set once the caller is authenticated (a 403 has one too); null for public calls and callers not authenticated.</summary>
    public Principal? Principal { get; set; }
}

internal static class GatewayCallExtensions
{
    /// <summary>The call's state, or null on a request that did not pass through <see cref="RequestIds"/>.</summary>
    public static GatewayCall? GetGatewayCall(this HttpContext context) => context.Features.Get<GatewayCall>();
}
