using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using MlGrid.Contracts;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane.Apis;

/// <summary>The model registry: upload ONNX files as numbered versions, read them back, point aliases at them.</summary>
public static class ModelsApi
{
    public const string OnnxContentType = "application/octet-stream";

    public static RouteGroupBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/models").WithTags("Models");
        api.MapGet("/", ListModels);
        api.MapGet("/{name}", GetModel);
        api.MapPost("/{name}/versions", UploadVersion).DisableAntiforgery().DocumentRawBody(OnnxContentType);
        api.MapGet("/{name}/versions/{version}", GetVersion);
        api.MapGet("/{name}/versions/{version}/content", GetContent);
        api.MapPut("/{name}/aliases/{alias}", SetAlias);
        api.MapDelete("/{name}/aliases/{alias}", DeleteAlias);
        return api;
    }

    public static async Task<Ok<List<ModelSummary>>> ListModels(IGrainFactory grains)
    {
        var names = await grains.GetGrain<IModelCatalogGrain>(IModelCatalogGrain.Key).List();
        var models = await Task.WhenAll(names.Select(n => grains.GetGrain<IModelGrain>(n).Get()));
        return TypedResults.Ok(models.OfType<ModelInfo>()
            .Select(m => new ModelSummary(m.Name, m.LatestVersion, m.Aliases, m.CreatedAt, m.Description))
            .ToList());
    }

    public static async Task<Results<Ok<ModelResponse>, ProblemHttpResult>> GetModel(string name, IGrainFactory grains)
    {
        if (!Names.IsValid(name) || await grains.GetGrain<IModelGrain>(name).Get() is not { } model)
        {
            return Problems.Of(StatusCodes.Status404NotFound, $"Model '{name}' does not exist.");
        }

        return TypedResults.Ok(new ModelResponse(model.Name, model.LatestVersion, model.Aliases, model.CreatedAt,
            model.Versions.Select(ModelVersionResponse.From).ToList(), model.Description,
            model.Tags.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal)));
    }

    public static async Task<Results<Ok<ModelVersionResponse>, ProblemHttpResult>> GetVersion(string name, string version, IGrainFactory grains)
    {
        var found = await FindVersionAsync(grains, name, version);
        return found is null
            ? Problems.Of(StatusCodes.Status404NotFound, $"Model '{name}' has no version or alias '{version}'.")
            : TypedResults.Ok(ModelVersionResponse.From(found));
    }

    public static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> GetContent(
        string name, string version, IGrainFactory grains, ArtifactStore artifacts, CancellationToken cancellationToken)
    {
        var found = await FindVersionAsync(grains, name, version);
        if (found is null)
        {
            return Problems.Of(StatusCodes.Status404NotFound, $"Model '{name}' has no version or alias '{version}'.");
        }

        if (found.Sha256 is not { } sha256)
        {
            return Problems.Of(StatusCodes.Status404NotFound,
                $"Model '{name}' version {found.Version} has no ONNX file ({found.StatusMessage ?? "none was found in its source"}); its MLflow source is {found.Source}.");
        }

        var stream = await artifacts.OpenReadAsync(sha256, cancellationToken);
        if (stream is null)
        {
            return Problems.Of(StatusCodes.Status503ServiceUnavailable, $"The file of model '{name}' version {found.Version} is missing from storage.");
        }

        return TypedResults.Stream(stream, OnnxContentType, $"{name}-v{found.Version}.onnx",
            entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{sha256}\""));
    }

    public static async Task<Results<Created<ModelVersionResponse>, ProblemHttpResult>> UploadVersion(
        string name,
        HttpContext context,
        IGrainFactory grains,
        ModelFiles files,
        ILogger<ModelUploadOptions> logger,
        CancellationToken cancellationToken)
    {
        if (!Names.IsValid(name))
        {
            return Problems.Of(StatusCodes.Status400BadRequest,
                $"'{name}' is not a valid model name: use 1 to {Names.MaxLength} letters, digits, '-', '_' or '.', starting with a letter or digit.");
        }

        if (!string.Equals(context.Request.ContentType, OnnxContentType, StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Of(StatusCodes.Status415UnsupportedMediaType,
                $"Send the ONNX file as the raw request body with Content-Type: {OnnxContentType}.");
        }

        var limit = files.MaxBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = limit;
        }

        if (context.Request.ContentLength > limit)
        {
            return Problems.Of(StatusCodes.Status413PayloadTooLarge, $"Model files are limited to {limit} bytes.");
        }

        try
        {
            var (file, problem) = await files.StoreAsync(context.Request.Body, "The request body", cancellationToken);
            if (file is null)
            {
                return Problems.Of(problem!.Status, problem.Message);
            }

            var version = await grains.GetGrain<IModelGrain>(name).AddVersion(new NewModelVersion(file.Sha256, file.SizeBytes, file.Signature));
            logger.LogInformation("Model {Model} version {Version} registered ({Sha256}, {Size} bytes)", name, version.Version, file.Sha256, file.SizeBytes);
            return TypedResults.Created($"/api/v1/models/{name}/versions/{version.Version}", ModelVersionResponse.From(version));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problems.Of(StatusCodes.Status413PayloadTooLarge, $"Model files are limited to {limit} bytes.");
        }
    }

    public static async Task<Results<Ok<ModelVersionResponse>, ProblemHttpResult>> SetAlias(
        string name, string alias, SetAliasRequest request, IGrainFactory grains)
    {
        if (request.Version is not { } version)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, "Send {\"version\": N} with the version number the alias should point at.");
        }

        if (!Names.IsValid(name))
        {
            return Problems.Of(StatusCodes.Status404NotFound, $"Model '{name}' does not exist.");
        }

        return TypedResults.Ok(ModelVersionResponse.From(await grains.GetGrain<IModelGrain>(name).SetAlias(alias, version)));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAlias(string name, string alias, IGrainFactory grains)
    {
        return Names.IsValid(name) && await grains.GetGrain<IModelGrain>(name).DeleteAlias(alias)
            ? TypedResults.NoContent()
            : Problems.Of(StatusCodes.Status404NotFound, $"Model '{name}' has no alias '{alias}'.");
    }

    private static async Task<ModelVersionInfo?> FindVersionAsync(IGrainFactory grains, string name, string version) =>
        Names.IsValid(name) ? await grains.GetGrain<IModelGrain>(name).GetVersion(version) : null;
}
