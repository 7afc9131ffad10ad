using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using MlGrid.Contracts;
using MlGrid.Gateway.Limits;
using MlGrid.Gateway.Shadow;
using MlGrid.Gateway.Stats;
using MlGrid.Hosting.Http;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace MlGrid.Gateway.Routing;

/// <summary>
/// The proxy pipeline step that picks the deployment for an inference request (pinned, by sticky key, or by weight),
/// hands the request to that deployment's cluster (YARP's own steps then pick a replica), sends it again to another
/// replica when the first could not be reached, and queues a shadow copy when the endpoint mirrors traffic.
/// </summary>
internal sealed class InferenceRouting(
    RoutingState state,
    IProxyStateLookup lookup,
    InferenceMetrics metrics,
    GatewayStats stats,
    GatewayMetrics gatewayMetrics,
    ShadowSender shadow,
    DeploymentTargets targets,
    BodyLimits limits)
{
    /// <summary>Attempts after the first one, each on a replica not tried yet.</summary>
    public const int MaxRetries = 2;

    private static readonly TimeSpan StickyCookieMaxAge = TimeSpan.FromDays(365);

    /// <summary>The status for a proxying failure, or null when the client caused it and YARP's own answer stands.</summary>
    private static int? Status(ForwarderError error) => error switch
    {
        ForwarderError.NoAvailableDestinations => StatusCodes.Status503ServiceUnavailable,
        ForwarderError.RequestTimedOut => StatusCodes.Status504GatewayTimeout,
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient => null,
        _ => StatusCodes.Status502BadGateway,
    };

    public async Task RouteAsync(HttpContext context, RequestDelegate next)
    {
        var routeId = context.GetReverseProxyFeature().Route.Config.RouteId;
        if (routeId is not (ProxyConfigProvider.InferenceRoute or ProxyConfigProvider.PinnedInferenceRoute))
        {
            await next(context);
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
        var endpointName = (string)context.GetRouteValue("endpoint")!;
        var pinned = context.GetRouteValue("deployment") as string;
        var deploymentName = pinned ?? "none";
        EndpointRoute? endpoint = null;
        // The deployment the request is counted under; none until one is known.
        DeploymentTarget? counted = null;
        BufferedBody? body = null;

        // Only the gateway marks shadow copies; a caller cannot pass live traffic off as shadow traffic.
        context.Request.Headers.Remove(ShadowRequest.Header);
        try
        {
            endpoint = state.Find(endpointName);
            if (endpoint is null)
            {
                await InferenceHttp.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"Endpoint '{endpointName}' does not exist.");
                return;
            }

            DeploymentRoute? deployment;
            DeploymentRoute? mirror = null;
            string? newStickyKey = null;
            if (pinned is not null)
            {
                // A pinned request names its deployment: no split, no stickiness, no shadow copy.
                deployment = Find(endpoint.Deployments, pinned);
                if (deployment is null)
                {
                    await InferenceHttp.WriteErrorAsync(context, StatusCodes.Status404NotFound, $"Endpoint '{endpointName}' has no deployment '{pinned}'.");
                    return;
                }

                counted = targets.For(endpointName, endpoint, deployment);
                if (deployment.ReplicaUrls.Count == 0)
                {
                    deployment = null;
                }
            }
            else
            {
                deployment = Choose(context, endpoint, out newStickyKey);
                if (deployment is not null && endpoint.Mirror is not null)
                {
                    mirror = MirrorSampler.Choose(endpoint, deployment, Random.Shared.NextDouble());
                }
            }

            var live = deployment is null ? null : counted ?? targets.For(endpointName, endpoint, deployment);
            ClusterState? cluster = null;
            if (live is null || !lookup.TryGetCluster(live.ClusterId, out cluster))
            {
                await InferenceHttp.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable,
                    $"Endpoint '{endpointName}' has no ready replica{(pinned is null ? "" : $" in deployment '{pinned}'")}; check GET /api/v1/endpoints/{endpointName}.");
                return;
            }

            deploymentName = live.Route.Name;
            counted = live;
            context.Response.OnStarting(ResponseMarker.OnStarting, new ResponseMarker(context, live, endpoint.Sticky?.Cookie, newStickyKey));

            if (mirror is not null && !shadow.HasQueueRoom)
            {
                shadow.Dropped(endpointName, mirror.Name);
                mirror = null;
            }

            if (mirror is not null)
            {
                body = await ReadBodyAsync(context, shadow.Budget, limits);
                if (body is null)
                {
                    return;
                }

                context.Request.Body = body.OpenRead(context.Request.Body);
                if (!body.IsComplete)
                {
                    // The memory budget is full: the live request goes on with what was read of its body put back in
                    // front of the rest (held, and counted, until it ends), and the copy is dropped.
                    shadow.Dropped(endpointName, mirror.Name);
                    mirror = null;
                }
            }

            context.ReassignProxyRequest(cluster);
            await ForwardAsync(context, next, cluster, endpointName, live, replayable: body is { IsComplete: true });

            if (context.GetForwarderErrorFeature() is { } error && !context.Response.HasStarted && Status(error.Error) is { } status)
            {
                await InferenceHttp.WriteErrorAsync(context, status, status == StatusCodes.Status503ServiceUnavailable
                    ? $"No replica of '{endpointName}/{deploymentName}' is healthy right now; try again shortly."
                    : $"The replica serving '{endpointName}/{deploymentName}' did not answer ({error.Error}); try again.");
            }

            if (mirror is not null && body is not null)
            {
                // Queued only now, so that the copy never competes with the live request; the copy owns the body from here.
                var copy = ShadowRequest.From(context, endpointName, mirror.Name, targets.For(endpointName, endpoint, mirror).ClusterId, body);
                body = null;
                shadow.TryEnqueue(copy);
            }
        }
        finally
        {
            body?.Release();
            var elapsed = Stopwatch.GetElapsedTime(started);
            metrics.Record(endpointName, deploymentName, context.Response.StatusCode, elapsed);
            if (endpoint is not null)
            {
                (counted?.Stats ?? stats.For(endpointName, "none")).Live.Record(context.Response.StatusCode, elapsed);
            }
        }
    }

    /// <summary>
    /// Runs the rest of the pipeline (load balancing, passive health, forwarding), then again on a replica not tried yet
    /// while the failure allows it: nothing reached the caller, the replica could not be reached, and the body can be
    /// sent again (never read, or buffered).
    /// </summary>
    private async Task ForwardAsync(HttpContext context, RequestDelegate next, ClusterState cluster, string endpoint, DeploymentTarget deployment, bool replayable)
    {
        await next(context);

        DestinationState? firstFailed = null;
        for (var retry = 0; retry < MaxRetries && CanRetry(context, replayable); retry++)
        {
            var feature = context.GetReverseProxyFeature();
            var failed = feature.ProxiedDestination;
            if (retry == 0)
            {
                firstFailed = failed;
            }

            var remaining = Remaining(cluster.DestinationsState.AvailableDestinations, firstFailed, failed);
            if (remaining is null)
            {
                return;
            }

            if (context.Request.Body is MemoryStream buffered)
            {
                buffered.Position = 0;
            }

            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.StatusCode = StatusCodes.Status200OK;
            feature.AvailableDestinations = remaining;
            feature.ProxiedDestination = null;
            deployment.Stats.Live.AddRetry();
            gatewayMetrics.Retried(endpoint, deployment.Route.Name);
            await next(context);
        }
    }

    internal static bool CanRetry(HttpContext context, bool replayable) =>
        context.GetForwarderErrorFeature() is { Error: ForwarderError.Request or ForwarderError.RequestBodyDestination }
        && !context.Response.HasStarted
        && !context.RequestAborted.IsCancellationRequested
        // Kestrel makes the body size read-only once the body has been read from: until then it can be sent again.
        && (replayable || context.Request.ContentLength == 0 || context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false });

    /// <summary>The destinations other than the ones tried, or null when none is left.</summary>
    internal static List<DestinationState>? Remaining(IReadOnlyList<DestinationState> available, DestinationState? tried1, DestinationState? tried2)
    {
        List<DestinationState>? remaining = null;
        foreach (var d in available)
        {
            if (!ReferenceEquals(d, tried1) && !ReferenceEquals(d, tried2))
            {
                (remaining ??= new List<DestinationState>(available.Count)).Add(d);
            }
        }

        return remaining;
    }

    private static DeploymentRoute? Choose(HttpContext context, EndpointRoute endpoint, out string? newStickyKey)
    {
        newStickyKey = null;
        if (endpoint.Sticky is { } sticky)
        {
            string? key = null;
            if (sticky.Header is { Length: > 0 } header)
            {
                var values = context.Request.Headers[header];
                key = values.Count > 0 ? values[0] : null;
            }
            else if (sticky.Cookie is { Length: > 0 } cookie)
            {
                key = context.Request.Cookies[cookie];
                if (string.IsNullOrEmpty(key))
                {
                    key = newStickyKey = Guid.NewGuid().ToString("N");
                }
            }

            // Header mode without the header falls back to the weighted split.
            if (!string.IsNullOrEmpty(key))
            {
                return StickySplitter.Choose(endpoint.Deployments, key);
            }
        }

        return TrafficSplitter.Choose(endpoint.Deployments, Random.Shared.NextDouble());
    }

    private static DeploymentRoute? Find(IReadOnlyList<DeploymentRoute> deployments, string name)
    {
        foreach (var d in deployments)
        {
            if (d.Name == name)
            {
                return d;
            }
        }

        return null;
    }

    /// <summary>
    /// Reads the body of a request that will be mirrored, as far as <paramref name="budget"/> allows; null when an
    /// error answer was written instead.
    /// </summary>
    private static async Task<BufferedBody?> ReadBodyAsync(HttpContext context, ShadowBudget budget, BodyLimits limits)
    {
        // The body limits step has set Kestrel's limit already; reading freezes it.
        try
        {
            return await BufferedBody.ReadAsync(context.Request, (int)limits.Inference.Bytes, budget, context.RequestAborted);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await limits.RefuseAsync(context, limits.Inference);
            return null;
        }
        catch (BadHttpRequestException ex)
        {
            await InferenceHttp.WriteErrorAsync(context, ex.StatusCode, ex.Message);
            return null;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away while sending the body.
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return null;
        }
    }

    /// <summary>What the gateway adds to the answer once it starts: the variant headers (replicas send their own) and a new sticky cookie.</summary>
    private sealed class ResponseMarker(HttpContext context, DeploymentTarget deployment, string? cookieName, string? newCookieValue)
    {
        public static readonly Func<object, Task> OnStarting = state =>
        {
            ((ResponseMarker)state).Apply();
            return Task.CompletedTask;
        };

        private void Apply()
        {
            var response = context.Response;
            response.Headers.TryAdd(InferenceHttp.DeploymentHeader, deployment.Route.Name);
            response.Headers.TryAdd(InferenceHttp.ModelVersionHeader, deployment.ModelVersion);
            if (cookieName is not null && newCookieValue is not null)
            {
                response.Cookies.Append(cookieName, newCookieValue, new CookieOptions
                {
                    Path = "/",
                    HttpOnly = true,
                    SameSite = SameSiteMode.Lax,
                    Secure = context.Request.IsHttps,
                    MaxAge = StickyCookieMaxAge,
                    IsEssential = true,
                });
            }
        }
    }
}
