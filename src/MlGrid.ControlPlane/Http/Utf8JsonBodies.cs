using System.Text.Unicode;
using MlGrid.ControlPlane.Apis;

namespace MlGrid.ControlPlane.Http;

/// <summary>
/// Refuses a JSON body that is not UTF-8 before any handler reads it. System.Text.Json checks the encoding of a
/// string only when the string is read, so without this a bad byte deep in a body surfaces as a server error in
/// whichever handler first asks for that string.
/// </summary>
internal sealed class Utf8JsonBodies(RequestDelegate next)
{
    /// <summary>JSON bodies are small here (the gateway caps them at 1 MiB); larger ones are left to the handler.</summary>
    private const int MaxChecked = 4 * 1024 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        // Artifact uploads are files whatever Content-Type a client guessed for them.
        var isArtifact = request.Path.StartsWithSegments("/api/2.0/mlflow-artifacts", StringComparison.OrdinalIgnoreCase);
        if (!isArtifact && request.HasJsonContentType() && request.ContentLength is null or <= MaxChecked)
        {
            request.EnableBuffering(MaxChecked);
            using var copy = new MemoryStream();
            await request.Body.CopyToAsync(copy, context.RequestAborted);
            request.Body.Position = 0;
            if (!Utf8.IsValid(copy.GetBuffer().AsSpan(0, (int)copy.Length)))
            {
                await Problems.ForSurface(request.Path, StatusCodes.Status400BadRequest, "INVALID_PARAMETER_VALUE",
                    "The body is not valid UTF-8; send JSON encoded as UTF-8.").ExecuteAsync(context);
                return;
            }
        }

        await next(context);
    }
}
