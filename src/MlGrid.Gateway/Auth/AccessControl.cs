using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using MlGrid.Contracts;
using MlGrid.Gateway.Http;
using MlGrid.Governance;

namespace MlGrid.Gateway.Auth;

/// <summary>
/// Authentication and authorization for every call the access policy covers (everything but health probes and server
/// metadata): an API key or the bootstrap admin key, or an Entra ID token when configured, checked against the role
/// and endpoint scope the call needs. The principal is kept on the call for rate limits, the audit trail and the
/// identity forwarded to the control plane.
/// </summary>
internal sealed class AccessControl(
    RequestDelegate next,
    KeyRingState keys,
    IOptions<GatewayOptions> gateway,
    IOptions<EntraIdOptions> entra,
    Refusals refusals,
    TimeProvider time)
{
    public const string MissingCredentials =
        "Missing credentials: send 'Authorization: Bearer <key>' with an MlGrid API key (or an Entra ID access token where configured).";

    public const string UnsupportedCredentials =
        "Unsupported credentials: send one 'Authorization: Bearer <key>' header with an MlGrid API key (or an Entra ID access token where configured).";

    public const string RegistryNotReady = "The key registry is not reachable yet; retry shortly.";

    private readonly byte[] _adminKey = Encoding.UTF8.GetBytes(gateway.Value.AdminKey);
    private readonly EntraIdOptions _entra = entra.Value;

    public async Task InvokeAsync(HttpContext context)
    {
        // Only the gateway says who is calling: whatever a caller sends under these names is gone before anything
        // (the proxy, shadow copies) can pass it on.
        foreach (var header in ForwardedIdentity.Headers)
        {
            context.Request.Headers.Remove(header);
        }

        var rule = RuleFor(context.Request);
        if (rule is null)
        {
            await next(context);
            return;
        }

        var call = context.GetGatewayCall()!;
        call.Rule = rule;
        var authorization = context.Request.Headers[HeaderNames.Authorization];
        if (BearerToken(authorization) is not { } token)
        {
            await refusals.RefuseAsync(context, StatusCodes.Status401Unauthorized,
                authorization.Count == 0 ? MissingCredentials : UnsupportedCredentials);
            return;
        }

        Principal principal;
        if (_entra.Enabled && EntraIdAuthentication.LooksLikeJwt(token))
        {
            var (entraPrincipal, status, reason, principalId) = await EntraIdAuthentication.AuthenticateAsync(context, _entra);
            if (entraPrincipal is null)
            {
                await refusals.RefuseAsync(context, status, reason!, principalId);
                return;
            }

            principal = entraPrincipal;
        }
        else
        {
            var ring = keys.Ring;
            var result = KeyCheck.Check(token, ring ?? KeyRing.Empty, _adminKey, time.GetUtcNow());
            if (!result.Accepted && result.KeyId is { } keyId && ring is not null && !ring.Keys.ContainsKey(keyId))
            {
                // A key this ring has never seen may have been created a moment ago: look once more before refusing.
                await keys.RefreshAsync();
                ring = keys.Ring;
                result = KeyCheck.Check(token, ring ?? KeyRing.Empty, _adminKey, time.GetUtcNow());
            }

            if (!result.Accepted)
            {
                if (ring is null && token.StartsWith(ApiKeys.Prefix, StringComparison.Ordinal))
                {
                    // Not a refusal: the key may well be valid, this gateway cannot tell yet.
                    context.Response.Headers.RetryAfter = "1";
                    await SurfaceErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, RegistryNotReady);
                    return;
                }

                await refusals.RefuseAsync(context, StatusCodes.Status401Unauthorized, result.Reason!, result.KeyId);
                return;
            }

            principal = result.Principal!;
        }

        call.Principal = principal;
        if (AccessPolicy.Refusal(principal, rule) is { } refusal)
        {
            await refusals.RefuseAsync(context, StatusCodes.Status403Forbidden, refusal);
            return;
        }

        await next(context);
    }

    /// <summary>The policy's rule for a request (the policy matches paths whatever their case, as routing does).</summary>
    internal static AccessRule? RuleFor(HttpRequest request) =>
        AccessPolicy.Rule(request.Method, request.Path.Value is { Length: > 0 } path ? path : "/");

    /// <summary>The token of a single <c>Authorization: Bearer</c> header, or null.</summary>
    private static string? BearerToken(Microsoft.Extensions.Primitives.StringValues values)
    {
        if (values.Count != 1 || values[0] is not { } header
            || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header.AsSpan("Bearer ".Length).Trim();
        return token.IsEmpty ? null : token.ToString();
    }
}
