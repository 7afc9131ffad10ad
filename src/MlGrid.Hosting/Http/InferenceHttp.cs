using Microsoft.AspNetCore.Http;

namespace MlGrid.Hosting.Http;

/// <summary>The inference surface's error body, <c>{"error": "..."}</c>, and the headers that name the variant that answered.</summary>
public static class InferenceHttp
{
    public const string DeploymentHeader = "x-mlgrid-deployment";
    public const string ModelVersionHeader = "x-mlgrid-model-version";
    public const string ModelHeader = "x-mlgrid-model";

    /// <summary>Set by the gateway on mirrored copies of requests; callers cannot set it.</summary>
    public const string ShadowHeader = "x-mlgrid-shadow";

    public static Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new InferenceError(message));
    }
}

public sealed record InferenceError(string Error);
