using MlGrid.Contracts;
using MlGrid.ControlPlane.Governance;
using MlGrid.Tracking;

namespace MlGrid.ControlPlane.Apis.Mlflow;

/// <summary>MLflow's experiments: create, get, get by name, search, update, delete, restore, tags.</summary>
internal static class MlflowExperimentsApi
{
    public static void Map(RouteGroupBuilder mlflow)
    {
        var api = mlflow.MapGroup("/experiments");
        api.MapPost("/create", Create);
        api.MapGet("/get", Get);
        api.MapGet("/get-by-name", GetByName);
        api.MapPost("/search", Search);
        api.MapGet("/search", Search);
        api.MapGet("/list", Search);
        api.MapPost("/update", Update);
        api.MapPost("/delete", Delete);
        api.MapPost("/restore", Restore);
        api.MapPost("/set-experiment-tag", SetTag);
    }

    public static async Task<IResult> Create([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = request.RequiredString("name");
        TrackingLimits.EnsureExperimentName(name);
        var tags = request.Tags("tags");
        foreach (var tag in tags)
        {
            TrackingLimits.EnsureTagKey(tag.Key);
            TrackingLimits.EnsureExperimentTagValue(tag.Key, tag.Value);
        }

        var created = await services.Catalog.Create(new NewExperiment(name, request.String("artifact_location"), tags));
        services.Context.SetAuditDetail($"experiment {created.ExperimentId} '{name}' created");
        services.Logger.LogInformation("Experiment {ExperimentId} '{Name}' created", created.ExperimentId, name);
        return MlflowJson.Ok(new { experiment_id = created.ExperimentId });
    }

    public static async Task<IResult> Get([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var experiment = await services.ExperimentAsync(request.RequiredString("experiment_id"));
        return MlflowJson.Ok(new { experiment = ExperimentShape.From(experiment) });
    }

    public static async Task<IResult> GetByName([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var name = request.RequiredString("experiment_name");
        var id = await services.Catalog.Find(name);
        var experiment = id is null ? null : await services.Grains.GetGrain<IExperimentGrain>(id).Get();
        return experiment is null
            ? throw RequestException.NotFound($"Could not find experiment with name '{name}'")
            : MlflowJson.Ok(new { experiment = ExperimentShape.From(experiment) });
    }

    public static async Task<IResult> Search([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var view = request.View("view_type");
        var filter = SearchFilter.Parse(request.String("filter"), SearchKind.Experiments);
        var order = SearchOrder.Parse(request.StringList("order_by"), SearchKind.Experiments);
        var ids = await services.Catalog.List();
        var experiments = await Task.WhenAll(ids.Select(id => services.Grains.GetGrain<IExperimentGrain>(id).Get()));
        var matching = experiments
            .OfType<ExperimentInfo>()
            .Where(e => view.Includes(e.LifecycleStage))
            .Select(e => new ExperimentTarget(e))
            .Where(filter.Matches);
        var page = SearchPaging.Page(order.Sort(matching), request.Long("max_results"), request.String("page_token"), SearchKind.Experiments);
        return MlflowJson.Ok(new
        {
            experiments = MlflowJson.NullIfEmpty(page.Items.Select(t => ExperimentShape.From(t.Experiment))),
            next_page_token = page.NextPageToken,
        });
    }

    public static async Task<IResult> Update([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var id = request.RequiredString("experiment_id");
        var name = request.RequiredString("new_name");
        TrackingLimits.EnsureExperimentName(name);
        await services.Grains.GetGrain<IExperimentGrain>(id).Rename(name);
        services.Context.SetAuditDetail($"experiment {id} renamed to '{name}'");
        return MlflowJson.Empty();
    }

    public static async Task<IResult> Delete([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var id = request.RequiredString("experiment_id");
        await services.Grains.GetGrain<IExperimentGrain>(id).Delete();
        return MlflowJson.Empty();
    }

    public static async Task<IResult> Restore([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var id = request.RequiredString("experiment_id");
        await services.Grains.GetGrain<IExperimentGrain>(id).Restore();
        return MlflowJson.Empty();
    }

    public static async Task<IResult> SetTag([AsParameters] MlflowServices services)
    {
        var request = await services.ReadAsync();
        var id = request.RequiredString("experiment_id");
        var key = request.RequiredString("key");
        var value = request.String("value") ?? "";
        TrackingLimits.EnsureTagKey(key);
        TrackingLimits.EnsureExperimentTagValue(key, value);
        await services.Grains.GetGrain<IExperimentGrain>(id).SetTag(new TrackingTag(key, value));
        return MlflowJson.Empty();
    }

    /// <summary>An experiment as the search engine sees it.</summary>
    private sealed class ExperimentTarget(ExperimentInfo experiment) : ISearchTarget
    {
        public ExperimentInfo Experiment => experiment;

        public double? Number(SearchEntity entity, string key) => entity == SearchEntity.Attribute
            ? key switch
            {
                "creation_time" => experiment.CreationTime,
                "last_update_time" => experiment.LastUpdateTime,
                "experiment_id" => double.Parse(experiment.ExperimentId, System.Globalization.CultureInfo.InvariantCulture),
                _ => null,
            }
            : null;

        public string? Text(SearchEntity entity, string key) => entity switch
        {
            SearchEntity.Attribute when key == "name" => experiment.Name,
            SearchEntity.Attribute when key == "experiment_id" => experiment.ExperimentId,
            SearchEntity.Tag => experiment.Tags.FirstOrDefault(t => t.Key == key)?.Value,
            _ => null,
        };

        public IEnumerable<SearchDataset> Datasets => [];
    }
}
