namespace MlGrid.Gateway;

/// <summary>Errors on the inference surface use the Open Inference Protocol's body: <c>{"error": "..."}</c>.</summary>
internal static class OipErrors
{
    public static Task WriteAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = message });
    }
}
