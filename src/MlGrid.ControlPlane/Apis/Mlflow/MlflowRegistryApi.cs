using System.Globalization;
using MlGrid.Contracts;
using MlGrid.ControlPlane.Governance;
using MlGrid.Tracking;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>
/// MLflow's model registry: registered models and model versions, with tags, aliases and stages. A registered model
/// is an MlGrid model (the same grain): versions made here and versions uploaded to <c>/api/v1/models</c> share one
/// numbering, and a version whose source holds an ONNX file can be deployed to an endpoint.
/// </summary>
internal static class MlflowRegistryApi
{
    public static void Map(RouteGroupBuilder mlflow)
    {
        var models = mlflow.MapGroup("/registered-models");
        models.MapPost("/create", CreateModel);
        models.MapGet("/get", GetModel);
        models.MapPost("/rename", RenameModel);
        models.MapPatch("/update", UpdateModel);
        models.MapDelete("/delete", DeleteModel);
        models.MapGet("/search", SearchModels);
        models.MapPost("/search", SearchModels);
        models.MapPost("/get-latest-versions", GetLatestVersions);
        models.MapGet("/get-latest-versions", GetLatestVersions);
        models.MapPost("/set-tag", SetModelTag);
        models.MapDelete("/delete-tag", DeleteModelTag);
        models.MapPost("/alias", SetAlias);
        models.MapDelete("/alias", DeleteAlias);
        models.MapGet("/alias", GetByAlias);

        var versions = mlflow.MapGroup("/model-versions");
        versions.MapPost("/create", CreateVersion);
        versions.MapGet("/get", GetVersion);
        versions.MapPatch("/update", UpdateVersion);
        versions.MapDelete("/delete", DeleteVersion);
        versions.MapGet("/search", SearchVersions);
        versions.MapPost("/search", SearchVersions);
        versions.MapGet("/get-download-uri", GetDownloadUri);
        versions.MapPost("/transition-stage", TransitionStage);
        versions.MapPost("/set-tag", SetVersionTag);
        versions.MapDelete("/delete-tag", DeleteVersionTag);
    }

    public static async Task<IResult> CreateModel([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var tags = RegistryTags(request);
        var description = Description(request);
        var model = await services.Grains.GetGrain<IModelGrain>(name).Register(description, tags);
        services.Context.SetAuditDetail($"registered model '{name}' created");
        services.Logger.LogInformation("Registered model {Model} created", name);
        return MlflowJson.Ok(new { registered_model = RegisteredModelShape.From(model) });
    }

    public static async Task<IResult> GetModel([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        return MlflowJson.Ok(new { registered_model = RegisteredModelShape.From(await ModelAsync(services, ModelName(request))) });
    }

    /// <summary>
    /// Endpoints deploy models by name, so a rename would have to move every endpoint with it; MlGrid refuses it in
    /// MLflow's words rather than pretending.
    /// </summary>
    public static async Task<IResult> RenameModel([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        await ModelAsync(services, name);
        return Problems.ForSurface(services.Context.Request.Path, StatusCodes.Status501NotImplemented, MlflowErrorCodes.NotImplemented,
            $"Registered model '{name}' cannot be renamed: MlGrid endpoints deploy models by name. Register its versions under the new name instead.");
    }

    public static async Task<IResult> UpdateModel([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var model = await services.Grains.GetGrain<IModelGrain>(name).Describe(Description(request));
        return MlflowJson.Ok(new { registered_model = RegisteredModelShape.From(model) });
    }

    public static async Task<IResult> DeleteModel([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        await services.Grains.GetGrain<IModelGrain>(name).Delete();
        services.Context.SetAuditDetail($"registered model '{name}' deleted");
        services.Logger.LogInformation("Registered model {Model} deleted", name);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> SearchModels([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var filter = SearchFilter.Parse(request.String("filter"), SearchKind.RegisteredModels);
        var order = SearchOrder.Parse(request.StringList("order_by"), SearchKind.RegisteredModels);
        var models = await AllModelsAsync(services);
        var page = SearchPaging.Page(
            order.Sort(models.Select(m => new RegisteredModelTarget(m)).Where(filter.Matches)),
            request.Long("max_results"), request.String("page_token"), SearchKind.RegisteredModels);
        return MlflowJson.Ok(new
        {
            registered_models = MlflowJson.NullIfEmpty(page.Items.Select(t => RegisteredModelShape.From(t.Model))),
            next_page_token = page.NextPageToken,
        });
    }

    public static async Task<IResult> GetLatestVersions([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var model = await ModelAsync(services, ModelName(request));
        var stages = request.StringList("stages")
            .Select(s => ModelStages.Canonical(s) ?? throw new TrackingException(
                $"Invalid Model Version stage: {s}. Value must be one of {string.Join(", ", ModelStages.All)}."))
            .ToList();
        var latest = RegisteredModelShape.LatestPerStage(model)
            .Where(v => stages.Count == 0 || stages.Contains(v.Stage))
            .Select(ModelVersionShape.From);
        return MlflowJson.Ok(new { model_versions = MlflowJson.NullIfEmpty(latest) });
    }

    public static async Task<IResult> SetModelTag([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var tag = Tag(request);
        await services.Grains.GetGrain<IModelGrain>(name).SetTag(tag);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteModelTag([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var key = request.RequiredString("key");
        TrackingLimits.EnsureTagKey(key);
        await services.Grains.GetGrain<IModelGrain>(name).DeleteTag(key);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> SetAlias([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var alias = Alias(request);
        var version = VersionNumber(request);
        await ModelAsync(services, name);
        await services.Grains.GetGrain<IModelGrain>(name).SetAlias(alias, version);
        services.Context.SetAuditDetail($"alias '{alias}' of registered model '{name}' set to version {version}");
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteAlias([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var alias = Alias(request);
        await ModelAsync(services, name);
        await services.Grains.GetGrain<IModelGrain>(name).DeleteAlias(alias);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> GetByAlias([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var alias = Alias(request);
        await ModelAsync(services, name);
        var version = await services.Grains.GetGrain<IModelGrain>(name).GetVersion(alias)
            ?? throw RequestException.NotFound($"Registered model alias {alias} not found.");
        return MlflowJson.Ok(new { model_version = ModelVersionShape.From(version) });
    }

    public static async Task<IResult> CreateVersion([AsParameters] MlflowServices services, MlflowModelSources sources)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var source = request.RequiredString("source");
        TrackingLimits.EnsureModelSource(source);
        var runId = request.String("run_id") is { Length: > 0 } id ? id : null;
        var tags = RegistryTags(request);
        var description = Description(request);
        await ModelAsync(services, name);

        var resolved = await sources.ResolveAsync(source, runId, services.Aborted);
        var version = await services.Grains.GetGrain<IModelGrain>(name).AddVersion(resolved with
        {
            Description = description,
            Tags = tags,
        });
        services.Context.SetAuditDetail($"registered model '{name}' version {version.Version} created from {source}");
        services.Logger.LogInformation("Model {Model} version {Version} registered from {Source}: {Kind}", name, version.Version, source,
            version.IsOnnx ? $"ONNX file {version.Sha256}" : $"not deployable ({version.StatusMessage})");
        return MlflowJson.Ok(new { model_version = ModelVersionShape.From(version) });
    }

    public static async Task<IResult> GetVersion([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        return MlflowJson.Ok(new { model_version = ModelVersionShape.From(await VersionAsync(services, request)) });
    }

    public static async Task<IResult> UpdateVersion([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var version = VersionNumber(request);
        var updated = await services.Grains.GetGrain<IModelGrain>(name).DescribeVersion(version, Description(request));
        return MlflowJson.Ok(new { model_version = ModelVersionShape.From(updated) });
    }

    public static async Task<IResult> DeleteVersion([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var version = VersionNumber(request);
        await services.Grains.GetGrain<IModelGrain>(name).DeleteVersion(version);
        services.Context.SetAuditDetail($"registered model '{name}' version {version} deleted");
        return MlflowJson.Empty();
    }

    public static async Task<IResult> SearchVersions([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var filter = SearchFilter.Parse(request.String("filter"), SearchKind.ModelVersions);
        var order = SearchOrder.Parse(request.StringList("order_by"), SearchKind.ModelVersions);
        var models = await AllModelsAsync(services);
        var page = SearchPaging.Page(
            order.Sort(models.SelectMany(m => m.Versions).Select(v => new ModelVersionTarget(v)).Where(filter.Matches)),
            request.Long("max_results"), request.String("page_token"), SearchKind.ModelVersions);
        return MlflowJson.Ok(new
        {
            model_versions = MlflowJson.NullIfEmpty(page.Items.Select(t => ModelVersionShape.From(t.Version))),
            next_page_token = page.NextPageToken,
        });
    }

    public static async Task<IResult> GetDownloadUri([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var version = await VersionAsync(services, request);
        return MlflowJson.Ok(new { artifact_uri = ModelVersionShape.SourceOf(version) });
    }

    public static async Task<IResult> TransitionStage([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var version = VersionNumber(request);
        var stage = request.RequiredString("stage");
        var archive = request.Bool("archive_existing_versions") ?? false;
        var moved = await services.Grains.GetGrain<IModelGrain>(name).TransitionStage(version, stage, archive);
        services.Context.SetAuditDetail($"registered model '{name}' version {version} moved to {moved.Stage}");
        return MlflowJson.Ok(new { model_version = ModelVersionShape.From(moved) });
    }

    public static async Task<IResult> SetVersionTag([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var version = VersionNumber(request);
        var tag = Tag(request);
        await services.Grains.GetGrain<IModelGrain>(name).SetVersionTag(version, tag);
        return MlflowJson.Empty();
    }

    public static async Task<IResult> DeleteVersionTag([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = ModelName(request);
        var version = VersionNumber(request);
        var key = request.RequiredString("key");
        TrackingLimits.EnsureTagKey(key);
        await services.Grains.GetGrain<IModelGrain>(name).DeleteVersionTag(version, key);
        return MlflowJson.Empty();
    }

    private static async Task<ModelInfo> ModelAsync(MlflowServices services, string name) =>
        await services.Grains.GetGrain<IModelGrain>(name).Get()
        ?? throw RequestException.NotFound($"Registered Model with name={name} not found");

    private static async Task<ModelVersionInfo> VersionAsync(MlflowServices services, MlflowRequest request)
    {
        var name = ModelName(request);
        var version = VersionNumber(request);
        await ModelAsync(services, name);
        return await services.Grains.GetGrain<IModelGrain>(name).GetVersion(version.ToString(CultureInfo.InvariantCulture))
            ?? throw RequestException.NotFound($"Model Version (name={name}, version={version}) not found");
    }

    private static async Task<IReadOnlyList<ModelInfo>> AllModelsAsync(MlflowServices services)
    {
        var names = await services.Grains.GetGrain<IModelCatalogGrain>(IModelCatalogGrain.Key).List();
        var models = await Task.WhenAll(names.Select(n => services.Grains.GetGrain<IModelGrain>(n).Get()));
        return [.. models.OfType<ModelInfo>()];
    }

    /// <summary>
    /// A registered model's name. It is also the model's name in <c>/api/v1/models</c> and in endpoint specs, so it
    /// follows MlGrid's naming rule, which is stricter than MLflow's.
    /// </summary>
    private static string ModelName(MlflowRequest request)
    {
        var name = request.RequiredString("name");
        return Names.IsValid(name)
            ? name
            : throw new TrackingException(
                $"'{name}' is not a valid registered model name in MlGrid: use 1 to {Names.MaxLength} letters, digits, '-', '_' or '.', starting with a letter or digit (the name is also used in URLs and endpoint specs).");
    }

    private static int VersionNumber(MlflowRequest request)
    {
        var text = request.RequiredString("version");
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0
            ? version
            : throw new TrackingException($"Parameter 'version' must be an integer, got '{text}'.");
    }

    /// <summary>An alias, refusing what MLflow reserves (<c>latest</c>, and <c>v</c> followed by digits) as well as MlGrid's rule.</summary>
    private static string Alias(MlflowRequest request)
    {
        var alias = request.RequiredString("alias");
        if (string.Equals(alias, "latest", StringComparison.OrdinalIgnoreCase)
            || (alias.Length > 1 && (alias[0] is 'v' or 'V') && alias.AsSpan(1).IndexOfAnyExceptInRange('0', '9') < 0))
        {
            throw new TrackingException($"'{alias}' is a reserved alias name: 'latest' and 'v<number>' refer to versions.");
        }

        return alias;
    }

    private static string? Description(MlflowRequest request)
    {
        var description = request.String("description");
        TrackingLimits.EnsureDescription(description);
        return description;
    }

    private static TrackingTag Tag(MlflowRequest request)
    {
        var key = request.RequiredString("key");
        var value = request.String("value") ?? "";
        TrackingLimits.EnsureTagKey(key);
        TrackingLimits.EnsureRegistryTagValue(key, value);
        return new TrackingTag(key, value);
    }

    private static IReadOnlyList<TrackingTag> RegistryTags(MlflowRequest request)
    {
        var tags = request.Tags("tags");
        foreach (var tag in tags)
        {
            TrackingLimits.EnsureTagKey(tag.Key);
            TrackingLimits.EnsureRegistryTagValue(tag.Key, tag.Value);
        }

        return tags;
    }

    /// <summary>A registered model as the search engine sees it.</summary>
    private sealed class RegisteredModelTarget(ModelInfo model) : ISearchTarget
    {
        public ModelInfo Model => model;

        public double? Number(SearchEntity entity, string key) => entity == SearchEntity.Attribute
            ? key switch
            {
                "creation_timestamp" => model.CreatedAt.ToUnixTimeMilliseconds(),
                "last_updated_timestamp" => model.UpdatedAt.ToUnixTimeMilliseconds(),
                _ => null,
            }
            : null;

        public string? Text(SearchEntity entity, string key) => entity switch
        {
            SearchEntity.Attribute when key == "name" => model.Name,
            SearchEntity.Tag => model.Tags.FirstOrDefault(t => t.Key == key)?.Value,
            _ => null,
        };
    }

    /// <summary>A model version as the search engine sees it.</summary>
    private sealed class ModelVersionTarget(ModelVersionInfo version) : ISearchTarget
    {
        public ModelVersionInfo Version => version;

        public double? Number(SearchEntity entity, string key) => entity == SearchEntity.Attribute
            ? key switch
            {
                "version_number" => version.Version,
                "creation_timestamp" => version.CreatedAt.ToUnixTimeMilliseconds(),
                "last_updated_timestamp" => version.UpdatedAt.ToUnixTimeMilliseconds(),
                _ => null,
            }
            : null;

        public string? Text(SearchEntity entity, string key) => entity switch
        {
            SearchEntity.Attribute => key switch
            {
                "name" => version.Name,
                "run_id" => version.RunId,
                "source_path" => ModelVersionShape.SourceOf(version),
                "version_number" => version.Version.ToString(CultureInfo.InvariantCulture),
                _ => null,
            },
            SearchEntity.Tag => version.Tags.FirstOrDefault(t => t.Key == key)?.Value,
            _ => null,
        };
    }
}
