using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using MlGrid.ControlPlane.Governance;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>
/// MLflow's artifact proxy (<c>mlflow server --serve-artifacts</c>): clients of runs whose artifact URI is
/// <c>mlflow-artifacts:/…</c> upload, download, list and delete files here, by path relative to the store's root.
/// </summary>
internal static class MlflowArtifactsApi
{
    public const string Prefix = "/api/2.0/mlflow-artifacts";

    /// <summary>The message MLflow clients recognise as "fall back to a plain upload".</summary>
    public const string MultipartUnsupported = "Multipart upload is not supported for the current artifact repository";

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    /// <summary>Extensions (and extension-less names) MLflow serves as <c>text/plain</c>, whatever else they are.</summary>
    private static readonly HashSet<string> TextExtensions = new(StringComparer.Ordinal)
    {
        "txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop", "hocon", "toml", "yaml", "yml",
        "xml", "json", "js", "py", "py3", "csv", "tsv", "md", "rst", "MLmodel", "MLproject",
    };

    /// <summary>Suffixes Python's <c>mimetypes</c> reads as a content encoding: the type is that of the name before them.</summary>
    private static readonly HashSet<string> EncodingExtensions = new(StringComparer.OrdinalIgnoreCase) { ".gz", ".z", ".bz2", ".xz", ".br" };

    public static IServiceCollection AddMlflowArtifacts(this IServiceCollection services)
    {
        services.AddSingleton<MlflowArtifactStore>();
        services.AddOptions<MlflowArtifactOptions>()
            .BindConfiguration(MlflowArtifactOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return services;
    }

    public static RouteGroupBuilder MapMlflowArtifactsApi(this IEndpointRouteBuilder app)
    {
        // MLflow describes this API; the management API's OpenAPI document leaves it out.
        var api = app.MapGroup(Prefix).WithTags("MLflow artifacts").ExcludeFromDescription();
        api.MapGet("/artifacts", ListArtifacts);
        api.MapGet("/artifacts/{**path}", DownloadArtifact);
        // No Accepts(): MLflow clients send each file with the Content-Type guessed from its name, and any is fine here.
        api.MapPut("/artifacts/{**path}", UploadArtifact).DisableAntiforgery();
        api.MapDelete("/artifacts/{**path}", DeleteArtifact);

        // Everything else under the prefix (another method, multipart and presigned calls, unknown paths) answers in
        // MLflow's error body rather than falling through to problem details.
        api.Map("/{**rest}", Unsupported);
        return api;
    }

    public static async Task<Results<Ok<MlflowEmptyResponse>, JsonHttpResult<MlflowError>>> UploadArtifact(
        string? path,
        HttpContext context,
        MlflowArtifactStore store,
        IOptions<MlflowArtifactOptions> options,
        CancellationToken cancellationToken)
    {
        if (!MlflowArtifactPath.TryNormalize(path, out var normalized, out var problem))
        {
            return Refuse(context, StatusCodes.Status400BadRequest, MlflowErrorCodes.InvalidParameterValue, problem);
        }

        var limit = options.Value.MaxArtifactBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = limit;
        }

        if (context.Request.ContentLength > limit)
        {
            return TooLarge(context, limit);
        }

        try
        {
            var written = await store.UploadAsync(normalized, context.Request.Body, cancellationToken);
            context.SetAuditDetail($"Stored '{written.Path}' ({written.Size} bytes, sha256 {written.Sha256}).");
            return TypedResults.Ok(MlflowEmptyResponse.Instance);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(context, limit);
        }
    }

    public static async Task<Results<FileStreamHttpResult, JsonHttpResult<MlflowError>>> DownloadArtifact(
        string? path, HttpContext context, MlflowArtifactStore store, CancellationToken cancellationToken)
    {
        if (!MlflowArtifactPath.TryNormalize(path, out var normalized, out var problem))
        {
            return Refuse(context, StatusCodes.Status400BadRequest, MlflowErrorCodes.InvalidParameterValue, problem);
        }

        if (await store.OpenReadAsync(normalized, cancellationToken) is not { } artifact)
        {
            return Refuse(context, StatusCodes.Status404NotFound, MlflowErrorCodes.ResourceDoesNotExist,
                $"No artifact file at '{normalized}'; list a directory with GET {Prefix}/artifacts?path=<dir>.");
        }

        // As MLflow does: always an attachment, never sniffed, so a stored page cannot run as this site's content.
        context.Response.Headers.XContentTypeOptions = "nosniff";
        context.Response.ContentLength = artifact.Length;
        return TypedResults.Stream(artifact.Content, ContentTypeOf(normalized), FileNameOf(normalized),
            entityTag: artifact.Sha256 is { } sha256 ? new EntityTagHeaderValue($"\"{sha256}\"") : null);
    }

    /// <summary>One level of a directory, as MLflow shapes it: names relative to it, and no <c>files</c> at all when empty.</summary>
    public static async Task<Results<Ok<MlflowListArtifactsResponse>, JsonHttpResult<MlflowError>>> ListArtifacts(
        [FromQuery] string? path, HttpContext context, MlflowArtifactStore store, CancellationToken cancellationToken)
    {
        string? directory = null;
        if (!string.IsNullOrEmpty(path))
        {
            if (!MlflowArtifactPath.TryNormalize(path, out var normalized, out var problem))
            {
                return Refuse(context, StatusCodes.Status400BadRequest, MlflowErrorCodes.InvalidParameterValue, problem);
            }

            directory = normalized;
        }

        var entries = await store.ListAsync(directory, cancellationToken);
        return TypedResults.Ok(new MlflowListArtifactsResponse(entries.Count == 0 ? null : [.. entries.Select(MlflowFileInfo.From)]));
    }

    /// <summary>Deletes a file, or a directory with everything in it; a path with nothing there is not an error.</summary>
    public static async Task<Results<Ok<MlflowEmptyResponse>, JsonHttpResult<MlflowError>>> DeleteArtifact(
        string? path, HttpContext context, MlflowArtifactStore store, CancellationToken cancellationToken)
    {
        if (!MlflowArtifactPath.TryNormalize(path, out var normalized, out var problem))
        {
            return Refuse(context, StatusCodes.Status400BadRequest, MlflowErrorCodes.InvalidParameterValue, problem);
        }

        var deleted = await store.DeleteAsync(normalized, cancellationToken);
        context.SetAuditDetail($"Deleted {deleted} file(s) at '{normalized}'.");
        return TypedResults.Ok(MlflowEmptyResponse.Instance);
    }

    public static JsonHttpResult<MlflowError> Unsupported(string? rest, HttpContext context)
    {
        var method = context.Request.Method;
        var call = rest ?? "";
        if (call.StartsWith("mpu/", StringComparison.OrdinalIgnoreCase) && HttpMethods.IsPost(method))
        {
            return Refuse(context, StatusCodes.Status501NotImplemented, MlflowErrorCodes.NotImplemented, MultipartUnsupported);
        }

        if (call.StartsWith("presigned/", StringComparison.OrdinalIgnoreCase) && HttpMethods.IsGet(method))
        {
            return Refuse(context, StatusCodes.Status501NotImplemented, MlflowErrorCodes.NotImplemented,
                "Presigned download URLs are not supported by this artifact repository; download through the proxy.");
        }

        if (call.Equals("artifacts", StringComparison.OrdinalIgnoreCase) || call.StartsWith("artifacts/", StringComparison.OrdinalIgnoreCase))
        {
            var allowed = call.Contains('/', StringComparison.Ordinal) ? "GET, PUT, DELETE" : "GET";
            context.Response.Headers.Allow = allowed;
            return Refuse(context, StatusCodes.Status405MethodNotAllowed, MlflowErrorCodes.BadRequest,
                $"{method} is not supported on {Prefix}/artifacts{(allowed == "GET" ? "" : "/<path>")}; use {allowed}.");
        }

        return Refuse(context, StatusCodes.Status404NotFound, MlflowErrorCodes.EndpointNotFound,
            $"{method} {context.Request.Path} is not an MLflow artifacts call.");
    }

    /// <summary>The Content-Type MLflow gives a file: <c>text/plain</c> for text formats, by extension otherwise.</summary>
    internal static string ContentTypeOf(string path)
    {
        var name = FileNameOf(path);
        var extension = Path.GetExtension(name);
        if (TextExtensions.Contains(extension.Length > 0 ? extension[1..] : name))
        {
            return "text/plain";
        }

        if (EncodingExtensions.Contains(extension))
        {
            name = name[..^extension.Length];
            if (Path.GetExtension(name).Length == 0)
            {
                return "application/octet-stream";
            }
        }

        return ContentTypes.TryGetContentType(name, out var contentType) ? contentType : "application/octet-stream";
    }

    private static string FileNameOf(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static JsonHttpResult<MlflowError> TooLarge(HttpContext context, long limit) =>
        Refuse(context, StatusCodes.Status413PayloadTooLarge, MlflowErrorCodes.ResourceExhausted,
            $"Artifact files are limited to {limit} bytes; raise {MlflowArtifactOptions.Section}:{nameof(MlflowArtifactOptions.MaxArtifactBytes)} to accept larger ones.");

    private static JsonHttpResult<MlflowError> Refuse(HttpContext context, int status, string errorCode, string message)
    {
        context.Governance().AuditDetail ??= message;
        return TypedResults.Json(new MlflowError(errorCode, message), statusCode: status);
    }
}

/// <summary>The empty answer (<c>{}</c>) of MLflow calls that return nothing.</summary>
internal sealed record MlflowEmptyResponse
{
    public static readonly MlflowEmptyResponse Instance = new();
}

/// <summary>MLflow's <c>ListArtifacts</c> answer; <c>files</c> is left out when there are none, as protobuf's JSON does.</summary>
internal sealed record MlflowListArtifactsResponse(
    [property: JsonPropertyName("files"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<MlflowFileInfo>? Files);

/// <summary>MLflow's <c>FileInfo</c>: a directory carries no <c>file_size</c>.</summary>
internal sealed record MlflowFileInfo(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("is_dir")] bool IsDir,
    [property: JsonPropertyName("file_size"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? FileSize)
{
    public static MlflowFileInfo From(MlflowArtifactEntry entry) => new(entry.Path, entry.IsDirectory, entry.IsDirectory ? null : entry.FileSize);
}
