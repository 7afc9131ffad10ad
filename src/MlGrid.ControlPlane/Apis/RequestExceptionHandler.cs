using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics;
using MlGrid.Contracts;
using MlGrid.ControlPlane.Governance;
using MlGrid.Tracking;

namespace MlGrid.ControlPlane.Apis;

/// <summary>Turns a refusal from a grain into RFC 7807 problem details with the grain's message.</summary>
internal sealed class RequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        (RequestErrorKind Kind, string Message)? refusal = exception switch
        {
            RequestException request => (request.Kind, request.Message),
            TrackingException tracking => (RequestErrorKind.Invalid, tracking.Message),
            _ => null,
        };

        if (refusal is not var (errorKind, message))
        {
            return false;
        }

        httpContext.Governance().AuditDetail ??= message;
        if (ControlPlanePolicy.IsMlflow(httpContext.Request.Path))
        {
            var (status, code) = Problems.Mlflow(errorKind);
            await Problems.ForSurface(httpContext.Request.Path, status, code, message).ExecuteAsync(httpContext);
            return true;
        }

        var problemStatus = Problems.StatusCode(errorKind);
        httpContext.Response.StatusCode = problemStatus;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = problemStatus, Title = Problems.Title(problemStatus), Detail = message },
        });
    }
}

internal static class Problems
{
    public static int StatusCode(RequestErrorKind kind) => kind switch
    {
        RequestErrorKind.NotFound => StatusCodes.Status404NotFound,
        RequestErrorKind.Conflict or RequestErrorKind.AlreadyExists or RequestErrorKind.InvalidState => StatusCodes.Status409Conflict,
        RequestErrorKind.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>The status and <c>error_code</c> MLflow gives each kind of refusal.</summary>
    public static (int Status, string ErrorCode) Mlflow(RequestErrorKind kind) => kind switch
    {
        RequestErrorKind.NotFound => (StatusCodes.Status404NotFound, MlflowErrorCodes.ResourceDoesNotExist),
        RequestErrorKind.AlreadyExists => (StatusCodes.Status400BadRequest, MlflowErrorCodes.ResourceAlreadyExists),
        RequestErrorKind.Conflict or RequestErrorKind.InvalidState => (StatusCodes.Status400BadRequest, MlflowErrorCodes.InvalidState),
        RequestErrorKind.Unavailable => (StatusCodes.Status503ServiceUnavailable, MlflowErrorCodes.TemporarilyUnavailable),
        _ => (StatusCodes.Status400BadRequest, MlflowErrorCodes.InvalidParameterValue),
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

/// <summary>The <c>error_code</c> values MLflow's clients act on.</summary>
internal static class MlflowErrorCodes
{
    public const string ResourceDoesNotExist = "RESOURCE_DOES_NOT_EXIST";
    public const string ResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS";
    public const string InvalidParameterValue = "INVALID_PARAMETER_VALUE";
    public const string InvalidState = "INVALID_STATE";
    public const string TemporarilyUnavailable = "TEMPORARILY_UNAVAILABLE";
    public const string EndpointNotFound = "ENDPOINT_NOT_FOUND";
    public const string BadRequest = "BAD_REQUEST";
    public const string NotImplemented = "NOT_IMPLEMENTED";
    public const string ResourceExhausted = "RESOURCE_EXHAUSTED";
}

/// <summary>MLflow's error body, for the MLflow REST API's clients.</summary>
internal sealed record MlflowError(
    [property: JsonPropertyName("error_code")] string ErrorCode,
    [property: JsonPropertyName("message")] string Message);
