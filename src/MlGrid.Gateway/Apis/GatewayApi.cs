using Microsoft.AspNetCore.Http.HttpResults;
using MlGrid.Gateway.Stats;

namespace MlGrid.Gateway.Apis;

/// <summary>The gateway's own admin surface under <c>/gateway/v1</c> (admin role required): what this gateway has seen.</summary>
public static class GatewayApi
{
    public static RouteGroupBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/gateway/v1").WithTags("Gateway");
        api.MapGet("/stats", GetStats);
        return api;
    }

    /// <summary>
    /// Live and shadow traffic per endpoint and deployment since this gateway started: requests, errors, counts per
    /// status code, latency percentiles; retries (live) and dropped copies (shadow). Each gateway replica counts its own.
    /// </summary>
    public static Ok<StatsReport> GetStats(GatewayStats stats) => TypedResults.Ok(stats.Report());
}
