using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using MlGrid.Hosting.Http;

namespace MlGrid.Gateway.Auth;

/// <summary>
/// Every <c>/api/**</c>, <c>/v2/models/**</c> and <c>/gateway/**</c> call needs <c>Authorization: Bearer &lt;key&gt;</c>;
/// health probes and server metadata stay anonymous. Refusals use the error body of the surface that was called.
/// </summary>
internal sealed class ApiKeyAuthentication(RequestDelegate next, IOptions<GatewayOptions> options)
{
    private readonly byte[] _adminKey = Encoding.UTF8.GetBytes(options.Value.AdminKey);

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!path.StartsWithSegments("/api") && !path.StartsWithSegments("/v2/models") && !path.StartsWithSegments("/gateway"))
        {
            await next(context);
            return;
        }

        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && Matches(header["Bearer ".Length..].Trim()))
        {
            await next(context);
            return;
        }

        var reason = string.IsNullOrEmpty(header)
            ? "Missing API key: send 'Authorization: Bearer <key>'."
            : "Invalid API key.";
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        if (path.StartsWithSegments("/api/2.0"))
        {
            await context.Response.WriteAsJsonAsync(new { error_code = "UNAUTHENTICATED", message = reason });
        }
        else if (path.StartsWithSegments("/api") || path.StartsWithSegments("/gateway"))
        {
            await Results.Problem(detail: reason, statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized").ExecuteAsync(context);
        }
        else
        {
            await InferenceHttp.WriteErrorAsync(context, StatusCodes.Status401Unauthorized, reason);
        }
    }

    private bool Matches(string presented)
    {
        var bytes = Encoding.UTF8.GetBytes(presented);
        return CryptographicOperations.FixedTimeEquals(bytes, _adminKey);
    }
}
