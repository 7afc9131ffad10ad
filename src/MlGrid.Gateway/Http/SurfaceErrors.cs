using MlGrid.Hosting.Http;

namespace MlGrid.Gateway.Http;

/// <summary>
/// Error answers the gateway writes itself, in the body each public surface promises: MLflow's
/// <c>{"error_code","message"}</c> under <c>/api/2.0</c>, RFC 7807 problem details for the rest of <c>/api</c> and for
/// <c>/gateway</c>, and <c>{"error"}</c> for the inference surface.
/// </summary>
internal static class SurfaceErrors
{
    public static Task WriteAsync(HttpContext context, int status, string message)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/api/2.0"))
        {
            context.Response.StatusCode = status;
            return context.Response.WriteAsJsonAsync(new MlflowError(MlflowCode(status), message));
        }

        if (path.StartsWithSegments("/api") || path.StartsWithSegments("/gateway"))
        {
            return Results.Problem(detail: message, statusCode: status, title: Title(status)).ExecuteAsync(context);
        }

        return InferenceHttp.WriteErrorAsync(context, status, message);
    }

    /// <summary>The codes MLflow clients know for these statuses (databricks_pb2.ErrorCode).</summary>
    private static string MlflowCode(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "UNAUTHENTICATED",
        StatusCodes.Status403Forbidden => "PERMISSION_DENIED",
        StatusCodes.Status413PayloadTooLarge => "RESOURCE_EXHAUSTED",
        StatusCodes.Status429TooManyRequests => "REQUEST_LIMIT_EXCEEDED",
        StatusCodes.Status503ServiceUnavailable => "TEMPORARILY_UNAVAILABLE",
        < 500 => "BAD_REQUEST",
        _ => "INTERNAL_ERROR",
    };

    private static string? Title(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "Unauthorized",
        StatusCodes.Status403Forbidden => "Forbidden",
        StatusCodes.Status413PayloadTooLarge => "Request body too large",
        StatusCodes.Status429TooManyRequests => "Too many requests",
        StatusCodes.Status503ServiceUnavailable => "Service unavailable",
        _ => null,
    };

    private sealed record MlflowError(
        [property: System.Text.Json.Serialization.JsonPropertyName("error_code")] string ErrorCode,
        [property: System.Text.Json.Serialization.JsonPropertyName("message")] string Message);
}
