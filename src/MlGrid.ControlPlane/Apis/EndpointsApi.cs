using Microsoft.AspNetCore.Http.HttpResults;
using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Apis;

/// <summary>Online endpoints: declare deployments and traffic, watch their replicas come up, remove them.</summary>
public static class EndpointsApi
{
    public static RouteGroupBuilder MapEndpointsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/endpoints").WithTags("Endpoints");
        api.MapGet("/", ListEndpoints);
        api.MapGet("/{name}", GetEndpoint);
        api.MapPut("/{name}", PutEndpoint);
        api.MapPatch("/{name}/traffic", PatchTraffic);
        api.MapDelete("/{name}", DeleteEndpoint);
        return api;
    }

    public static async Task<Ok<List<EndpointView>>> ListEndpoints(IGrainFactory grains)
    {
        var names = await grains.GetGrain<IEndpointCatalogGrain>(IEndpointCatalogGrain.Key).List();
        var views = await Task.WhenAll(names.Select(n => grains.GetGrain<IEndpointGrain>(n).Get()));
        return TypedResults.Ok(views.OfType<EndpointView>().ToList());
    }

    public static async Task<Results<Ok<EndpointView>, ProblemHttpResult>> GetEndpoint(string name, IGrainFactory grains)
    {
        return Names.IsValid(name) && await grains.GetGrain<IEndpointGrain>(name).Get() is { } view
            ? TypedResults.Ok(view)
            : Problems.Of(StatusCodes.Status404NotFound, $"Endpoint '{name}' does not exist.");
    }

    /// <summary>Creates or updates the endpoint; 202 because replicas load after the answer (watch GET for Ready).</summary>
    public static async Task<Results<Accepted<EndpointView>, ProblemHttpResult>> PutEndpoint(string name, EndpointRequest request, IGrainFactory grains)
    {
        Names.EnsureValid(name, "endpoint");
        var (spec, error) = request.ToSpec();
        if (spec is null)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, error!);
        }

        var view = await grains.GetGrain<IEndpointGrain>(name).Apply(spec);
        return TypedResults.Accepted($"/api/v1/endpoints/{name}", view);
    }

    /// <summary>
    /// Changes traffic weights (and the mirror) without touching replicas. The new routing-table version has been
    /// pushed to the gateways when this answers.
    /// </summary>
    public static async Task<Results<Ok<EndpointView>, ProblemHttpResult>> PatchTraffic(string name, System.Text.Json.JsonElement body, IGrainFactory grains)
    {
        if (!Names.IsValid(name))
        {
            return Problems.Of(StatusCodes.Status404NotFound, $"Endpoint '{name}' does not exist.");
        }

        var (change, error) = TrafficRequest.Parse(body);
        if (change is null)
        {
            return Problems.Of(StatusCodes.Status400BadRequest, error!);
        }

        return TypedResults.Ok(await grains.GetGrain<IEndpointGrain>(name).SetTraffic(change));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteEndpoint(string name, IGrainFactory grains)
    {
        return Names.IsValid(name) && await grains.GetGrain<IEndpointGrain>(name).Delete()
            ? TypedResults.NoContent()
            : Problems.Of(StatusCodes.Status404NotFound, $"Endpoint '{name}' does not exist.");
    }
}
