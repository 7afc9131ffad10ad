using System.Diagnostics;
using System.Globalization;
using MlGrid.Contracts;
using MlGrid.Hosting.Http;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace MlGrid.Gateway.Routing;

/// <summary>
/// The proxy pipeline step that picks the deployment for an inference request (by weight, or the pinned one) and
/// hands the request to that deployment's cluster; YARP's own steps then pick a replica.
/// </summary>
internal static class InferenceRouting
{
    /// <summary>The status for a proxying failure, or null when the client caused it and YARP's own answer stands.</summary>
    private static int? Status(ForwarderError error) => error switch
    {
        ForwarderError.NoAvailableDestinations => StatusCodes.Status503ServiceUnavailable,
        ForwarderError.RequestTimedOut => StatusCodes.Status504GatewayTimeout,
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient => null,
        _ => StatusCodes.Status502BadGateway,
    };

    public static async Task RouteAsync(HttpContext context, Func<Task> next)
    {
        var routeId = context.GetReverseProxyFeature().Route.Config.RouteId;
        if (routeId is not (ProxyConfigProvider.InferenceRoute or ProxyConfigProvider.PinnedInferenceRoute))
        {
            await next();
            if (context.GetForwarderErrorFeature() is { } apiError && !context.Response.HasStarted && Status(apiError.Error) is { } apiStatus)
            {
                await Results.Problem(
                    detail: $"The control plane did not answer ({apiError.Error}); it may be restarting, try again shortly.",
                    statusCode: apiStatus,
                    title: "Control plane unavailable").ExecuteAsync(context);
            }

            return;
        }

        var started = Stopwatch.GetTimestamp();
        var state = context.RequestServices.GetRequiredService<RoutingState>();
        var metrics = context.RequestServices.GetRequiredService<InferenceMetrics>();
        var endpointName = (string)context.GetRouteValue("endpoint")!;
        var pinned = context.GetRouteValue("deployment") as string;
        var deploymentName = pinned ?? "none";
        try
        {
            if (state.Find(endpointName) is not { } endpoint)
            {
                await InferenceHttp.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"Endpoint '{endpointName}' does not exist.");
                return;
            }

            DeploymentRoute? deployment;
            if (pinned is not null)
            {
                deployment = endpoint.Deployments.FirstOrDefault(d => d.Name == pinned);
                if (deployment is null)
                {
                    await InferenceHttp.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"Endpoint '{endpointName}' has no deployment '{pinned}'.");
                    return;
                }

                if (deployment.ReplicaUrls.Count == 0)
                {
                    deployment = null;
                }
            }
            else
            {
                deployment = TrafficSplitter.Choose(endpoint.Deployments, Random.Shared.NextDouble());
            }

            var lookup = context.RequestServices.GetRequiredService<IProxyStateLookup>();
            ClusterState? cluster = null;
            if (deployment is null || !lookup.TryGetCluster(ProxyConfigProvider.ClusterId(endpointName, deployment.Name), out cluster))
            {
                await InferenceHttp.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable,
                    $"Endpoint '{endpointName}' has no ready replica{(pinned is null ? "" : $" in deployment '{pinned}'")}; check GET /api/v1/endpoints/{endpointName}.");
                return;
            }

            deploymentName = deployment.Name;
            // Replicas send these themselves; the gateway fills them in only for answers of its own (e.g. 502).
            var chosen = deployment;
            context.Response.OnStarting(() =>
            {
                context.Response.Headers.TryAdd(InferenceHttp.DeploymentHeader, chosen.Name);
                context.Response.Headers.TryAdd(InferenceHttp.ModelVersionHeader, chosen.ModelVersion.ToString(CultureInfo.InvariantCulture));
                return Task.CompletedTask;
            });
            context.ReassignProxyRequest(cluster!);
            await next();

            if (context.GetForwarderErrorFeature() is { } error && !context.Response.HasStarted && Status(error.Error) is { } status)
            {
                await InferenceHttp.WriteErrorAsync(context, status, status == StatusCodes.Status503ServiceUnavailable
                    ? $"No replica of '{endpointName}/{deployment.Name}' is healthy right now; try again shortly."
                    : $"The replica serving '{endpointName}/{deployment.Name}' did not answer ({error.Error}); try again.");
            }
        }
        finally
        {
            metrics.Record(endpointName, deploymentName, context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
        }
    }
}
