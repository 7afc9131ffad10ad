using System.Reflection;
using MlGrid.Contracts;
using MlGrid.Gateway.Routing;
using MlGrid.Hosting.Http;

namespace MlGrid.Gateway.Apis;

/// <summary>
/// The Open Inference Protocol endpoints the gateway answers itself, from its routing table: health, server and
/// model metadata, model readiness. They keep answering while the control plane is down.
/// </summary>
public static class OipApi
{
    public const string Platform = "onnxruntime_onnx";

    public static IEndpointRouteBuilder MapOipApi(this IEndpointRouteBuilder app)
    {
        var v2 = app.MapGroup("/v2").WithTags("Open Inference Protocol");
        v2.MapGet("/", ServerMetadata);
        v2.MapGet("/health/live", () => TypedResults.Ok(new { live = true }));
        v2.MapGet("/health/ready", Ready);
        v2.MapGet("/models/{endpoint}", ModelMetadata);
        v2.MapGet("/models/{endpoint}/versions/{deployment}", ModelMetadata);
        v2.MapGet("/models/{endpoint}/ready", ModelReady);
        v2.MapGet("/models/{endpoint}/versions/{deployment}/ready", ModelReady);

        // Anything else under /v2 answers in the protocol's error shape rather than with an empty 404.
        v2.MapFallback("{**path}", (HttpContext context) => InferenceHttp.WriteErrorAsync(context, StatusCodes.Status404NotFound,
            $"No inference route '{context.Request.Method} {context.Request.Path}'; see GET /v2 and /v2/models/{{endpoint}}[/versions/{{deployment}}]/(infer|ready)."));
        return app;
    }

    public static IResult ServerMetadata() => TypedResults.Ok(new
    {
        name = "mlgrid",
        version = typeof(OipApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0",
        extensions = Array.Empty<string>(),
    });

    /// <summary>Ready once this gateway holds a routing table (it can route, from memory if need be).</summary>
    public static IResult Ready(RoutingState state) => state.Table is null
        ? Results.Json(new { ready = false }, statusCode: StatusCodes.Status503ServiceUnavailable)
        : TypedResults.Ok(new { ready = true });

    public static IResult ModelMetadata(string endpoint, string? deployment, RoutingState state)
    {
        if (!TryResolve(endpoint, deployment, state, out var route, out var chosen, out var error))
        {
            return error!;
        }

        var shown = chosen ?? route!.Deployments.Where(d => d.Weight > 0).OrderByDescending(d => d.Weight).FirstOrDefault() ?? route!.Deployments[0];
        return TypedResults.Ok(new
        {
            name = endpoint,
            versions = (chosen is null ? route!.Deployments : [chosen])
                .Select(d => d.ModelVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)).Distinct().ToArray(),
            platform = Platform,
            inputs = shown.Signature.Inputs.Select(Describe).ToArray(),
            outputs = shown.Signature.Outputs.Select(Describe).ToArray(),
        });
    }

    /// <summary>200 when a request would be served now, 503 when not yet, 404 when there is no such endpoint.</summary>
    public static IResult ModelReady(string endpoint, string? deployment, RoutingState state)
    {
        if (!TryResolve(endpoint, deployment, state, out var route, out var chosen, out var error))
        {
            return error!;
        }

        var ready = chosen is not null
            ? chosen.ReplicaUrls.Count > 0
            : TrafficSplitter.Choose(route!.Deployments, 0) is not null;
        return Results.Json(new { name = endpoint, ready }, statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static bool TryResolve(string endpoint, string? deployment, RoutingState state,
        out EndpointRoute? route, out DeploymentRoute? chosen, out IResult? error)
    {
        chosen = null;
        error = null;
        route = state.Find(endpoint);
        if (route is null)
        {
            error = Results.Json(new InferenceError($"Endpoint '{endpoint}' does not exist."), statusCode: StatusCodes.Status404NotFound);
            return false;
        }

        if (deployment is not null)
        {
            chosen = route.Deployments.FirstOrDefault(d => d.Name == deployment);
            if (chosen is null)
            {
                error = Results.Json(new InferenceError($"Endpoint '{endpoint}' has no deployment '{deployment}'."), statusCode: StatusCodes.Status404NotFound);
                return false;
            }
        }

        return true;
    }

    private static object Describe(TensorSignature t) => new { name = t.Name, datatype = t.Datatype, shape = t.Shape };
}
