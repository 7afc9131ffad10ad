using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using MlGrid.Governance;

namespace MlGrid.Gateway.Auth;

/// <summary>
/// Entra ID access tokens through ASP.NET Core's JWT bearer handler (scheme <see cref="EntraIdOptions.Scheme"/>),
/// called by <see cref="AccessControl"/> only for tokens that look like JWTs while Entra ID is configured.
/// </summary>
internal static class EntraIdAuthentication
{
    public static IServiceCollection AddEntraIdAuthentication(this IServiceCollection services)
    {
        services.AddOptions<EntraIdOptions>()
            .BindConfiguration(EntraIdOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // No default scheme, not even the one ASP.NET Core picks when a single scheme is registered: the authentication
        // middleware that WebApplication adds by itself would otherwise run every API key through the JWT handler.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication()
            .AddJwtBearer(EntraIdOptions.Scheme, _ => { });
        services.AddOptions<JwtBearerOptions>(EntraIdOptions.Scheme).Configure<IOptions<EntraIdOptions>>((jwt, options) =>
        {
            var entra = options.Value;
            if (!entra.Enabled)
            {
                return;
            }

            jwt.Authority = entra.Authority;
            jwt.Audience = entra.Audience;
            jwt.MapInboundClaims = false;
            jwt.TokenValidationParameters.RoleClaimType = "roles";
            jwt.TokenValidationParameters.NameClaimType = "preferred_username";
            // APIs whose app registration still issues v1 access tokens get the v1 issuer; the metadata names only v2's.
            jwt.TokenValidationParameters.ValidIssuers = [entra.Authority, $"https://sts.windows.net/{entra.TenantId}/"];
        });
        return services;
    }

    /// <summary>Three base64url parts, the first a JSON object: what a JWT looks like, and what no MlGrid key looks like.</summary>
    public static bool LooksLikeJwt(string token)
    {
        if (!token.StartsWith("eyJ", StringComparison.Ordinal))
        {
            return false;
        }

        var dots = 0;
        foreach (var c in token)
        {
            if (c == '.')
            {
                dots++;
            }
            else if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return false;
            }
        }

        return dots == 2;
    }

    /// <summary>The principal for a valid token, or the reason it was refused (never the token) and the status to refuse with.</summary>
    public static async Task<(Principal? Principal, int Status, string? Reason, string? PrincipalId)> AuthenticateAsync(HttpContext context, EntraIdOptions options)
    {
        var result = await context.AuthenticateAsync(EntraIdOptions.Scheme);
        if (!result.Succeeded)
        {
            return (null, StatusCodes.Status401Unauthorized, Describe(result.Failure, options), null);
        }

        var claims = result.Principal!;
        var objectId = claims.FindFirstValue("oid") ?? claims.FindFirstValue("sub") ?? "unknown";
        var id = $"entra:{objectId}";
        var name = claims.FindFirstValue("preferred_username") ?? claims.FindFirstValue("name")
            ?? claims.FindFirstValue("azp") ?? claims.FindFirstValue("appid") ?? id;
        if (options.RoleFor(claims.FindAll("roles").Select(c => c.Value)) is not { } role)
        {
            return (null, StatusCodes.Status403Forbidden,
                $"The Entra ID token for '{name}' carries no MlGrid app role; assign one of {string.Join(", ", options.RoleMap.Keys)} to the user or application.",
                id);
        }

        return (new Principal(id, name, role, []), StatusCodes.Status200OK, null, id);
    }

    private static string Describe(Exception? failure, EntraIdOptions options) => failure switch
    {
        SecurityTokenExpiredException expired => $"The Entra ID token expired at {expired.Expires:u}; get a new one.",
        SecurityTokenNotYetValidException => "The Entra ID token is not valid yet.",
        SecurityTokenInvalidAudienceException => $"The Entra ID token is for another audience; request one for '{options.Audience}'.",
        SecurityTokenInvalidIssuerException => "The Entra ID token was not issued by the tenant this gateway trusts.",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "The Entra ID token's signature is not valid.",
        _ => "Invalid Entra ID token.",
    };
}
