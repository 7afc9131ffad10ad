using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using MlGrid.Gateway.Auth;
using Yarp.ReverseProxy.Forwarder;

namespace MlGrid.Gateway.Limits;

/// <summary>The limit for one request body: its size and the setting that raises it.</summary>
internal sealed record BodyLimit(long Bytes, string What, string Setting);

/// <summary>
/// Request body limits by kind of call, applied per request before the proxy reads a byte: a declared
/// <c>Content-Length</c> over the limit is refused at once, and a chunked body that grows past it makes Kestrel stop
/// the read, which the proxy reports and this step turns into the same 413.
/// </summary>
internal sealed class BodyLimits(IOptions<BodyLimitOptions> options, Refusals refusals)
{
    private readonly BodyLimit _api = new(options.Value.MaxApiBodyBytes, "API request", $"{BodyLimitOptions.Section}:{nameof(BodyLimitOptions.MaxApiBodyBytes)}");
    private readonly BodyLimit _upload = new(options.Value.MaxUploadBodyBytes, "upload", $"{BodyLimitOptions.Section}:{nameof(BodyLimitOptions.MaxUploadBodyBytes)}");
    private readonly BodyLimit _inference = new(options.Value.MaxInferenceBodyBytes, "inference request", $"{BodyLimitOptions.Section}:{nameof(BodyLimitOptions.MaxInferenceBodyBytes)}");

    /// <summary>How far past its limit a declared body may be and still be drained, so its sender reads the 413.</summary>
    private const long DrainAllowance = 16 * 1024 * 1024;

    public BodyLimit Inference => _inference;

    /// <summary>The limit for a request, or null for calls the gateway does not proxy or serve with a body.</summary>
    public BodyLimit? For(HttpRequest request)
    {
        var path = request.Path;
        if (path.StartsWithSegments("/v2"))
        {
            return _inference;
        }

        if (!path.StartsWithSegments("/api") && !path.StartsWithSegments("/gateway"))
        {
            return null;
        }

        return IsUpload(request.Method, path) ? _upload : _api;
    }

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (For(context.Request) is not { } limit)
        {
            await next(context);
            return;
        }

        var size = context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature ? feature : null;
        if (context.Request.ContentLength is { } declared && declared > limit.Bytes)
        {
            // A client that sends its whole body before reading the answer (most do, unless they ask for
            // 100-continue) would see a broken connection instead of the 413 if the server closed it mid-body. A
            // modest excess is read and discarded after the answer so the client gets to read it.
            if (size is not null && declared <= limit.Bytes + DrainAllowance)
            {
                size.MaxRequestBodySize = declared;
            }

            await RefuseAsync(context, limit);
            return;
        }

        if (size is not null)
        {
            size.MaxRequestBodySize = limit.Bytes;
        }

        await next(context);

        // YARP answers a body that Kestrel cut off with the exception's status but no body; give it the surface's.
        if (!context.Response.HasStarted
            && context.GetForwarderErrorFeature() is { Error: ForwarderError.RequestBodyClient, Exception: { } error }
            && IsTooLarge(error))
        {
            context.Response.Clear();
            await RefuseAsync(context, limit);
        }
    }

    public Task RefuseAsync(HttpContext context, BodyLimit limit) =>
        refusals.RefuseAsync(context, StatusCodes.Status413PayloadTooLarge,
            $"The request body is larger than the {limit.What} limit of {Describe(limit.Bytes)}; send less, or raise {limit.Setting}.");

    internal static bool IsTooLarge(Exception? error) => error switch
    {
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsTooLarge),
        null => false,
        _ => IsTooLarge(error.InnerException),
    };

    /// <summary>Model and dataset versions and MLflow artifacts: the calls that carry files.</summary>
    private static bool IsUpload(string method, PathString path)
    {
        var segments = path.Value!.ToLowerInvariant().Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (HttpMethods.IsPost(method) && segments is ["api", "v1", "models" or "datasets", _, "versions"])
        {
            return true;
        }

        return (HttpMethods.IsPut(method) || HttpMethods.IsPost(method)) && segments is ["api", "2.0", "mlflow-artifacts", ..];
    }

    private static string Describe(long bytes) => bytes switch
    {
        >= 1024 * 1024 * 1024 when bytes % (1024 * 1024 * 1024) == 0 => $"{bytes / (1024 * 1024 * 1024)} GiB",
        >= 1024 * 1024 when bytes % (1024 * 1024) == 0 => $"{bytes / (1024 * 1024)} MiB",
        >= 1024 when bytes % 1024 == 0 => $"{bytes / 1024} KiB",
        _ => $"{bytes.ToString(CultureInfo.InvariantCulture)} bytes",
    };
}
