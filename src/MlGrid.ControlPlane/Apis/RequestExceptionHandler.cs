using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics;
using MlGrid.Contracts;
using MlGrid.ControlPlane.Governance;

namespace MlGrid.ControlPlane.Apis;

/// <summary>Turns a refusal from a grain into RFC 7807 problem details with the grain's message.</summary>
internal sealed class RequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not RequestException request)
        {
            return false;
        }

        var status = Problems.StatusCode(request.Kind);
        httpContext.Response.StatusCode = status;
        httpContext.Governance().AuditDetail ??= request.Message;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = Problems.Title(status), Detail = request.Message },
        });
    }
}

internal static class Problems
{
    public static int StatusCode(RequestErrorKind kind) => kind switch
    {
        RequestErrorKind.NotFound => StatusCodes.Status404NotFound,
        RequestErrorKind.Conflict => StatusCodes.Status409Conflict,
        RequestErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status400BadRequest,
    };

    public static string Title(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "Unauthorized",
        StatusCodes.Status403Forbidden => "Forbidden",
        StatusCodes.Status404NotFound => "Not found",
        StatusCodes.Status409Conflict => "Conflict",
        StatusCodes.Status413PayloadTooLarge => "Payload too large",
        StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
        StatusCodes.Status503ServiceUnavailable => "Service unavailable",
        _ => "Bad request",
    };

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Of(int status, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: Title(status));

    /// <summary>
    /// A refusal in the error body of the API that was called: MLflow's <c>{"error_code","message"}</c> under
    /// <c>/api/2.0/mlflow</c>, problem details everywhere else.
    /// </summary>
    public static IResult ForSurface(PathString path, int status, string mlflowErrorCode, string message) =>
        ControlPlanePolicy.IsMlflow(path)
            ? TypedResults.Json(new MlflowError(mlflowErrorCode, message), statusCode: status)
            : Of(status, message);
}

/// <summary>MLflow's error body, for the MLflow REST API's clients.</summary>
internal sealed record MlflowError(
    [property: JsonPropertyName("error_code")] string ErrorCode,
    [property: JsonPropertyName("message")] string Message);
