using System.Collections.Concurrent;

namespace MlGrid.Gateway.Stats;

/// <summary>
/// In-memory traffic statistics of this gateway since it started, per endpoint and deployment, live and shadow kept
/// apart; served at <c>GET /gateway/v1/stats</c>. The same numbers go to OpenTelemetry; these are for a quick look
/// without a metrics backend.
/// </summary>
public sealed class GatewayStats
{
    private readonly ConcurrentDictionary<(string Endpoint, string Deployment), DeploymentStats> _deployments = new();

    public DeploymentStats For(string endpoint, string deployment) =>
        _deployments.GetOrAdd((endpoint, deployment), static _ => new DeploymentStats());

    public StatsReport Report()
    {
        var endpoints = new SortedDictionary<string, SortedDictionary<string, DeploymentStatsReport>>(StringComparer.Ordinal);
        foreach (var ((endpoint, deployment), stats) in _deployments)
        {
            if (!endpoints.TryGetValue(endpoint, out var deployments))
            {
                deployments = new SortedDictionary<string, DeploymentStatsReport>(StringComparer.Ordinal);
                endpoints[endpoint] = deployments;
            }

            deployments[deployment] = stats.Report();
        }

        var result = new SortedDictionary<string, EndpointStatsReport>(StringComparer.Ordinal);
        foreach (var (endpoint, deployments) in endpoints)
        {
            result[endpoint] = new EndpointStatsReport(deployments);
        }

        return new StatsReport(result);
    }
}

public sealed class DeploymentStats
{
    public TrafficStats Live { get; } = new();

    public TrafficStats Shadow { get; } = new();

    public DeploymentStatsReport Report() => new(
        new LiveStatsReport(Live.Requests, Live.Errors, Live.Retries, Live.StatusCounts(), Live.LatencyReport()),
        new ShadowStatsReport(Shadow.Requests, Shadow.Errors, Shadow.Dropped, Shadow.StatusCounts(), Shadow.LatencyReport()));
}

public sealed record StatsReport(IReadOnlyDictionary<string, EndpointStatsReport> Endpoints);

public sealed record EndpointStatsReport(IReadOnlyDictionary<string, DeploymentStatsReport> Deployments);

public sealed record DeploymentStatsReport(LiveStatsReport Live, ShadowStatsReport Shadow);

/// <param name="Retries">Attempts sent again to another replica after a transport failure.</param>
public sealed record LiveStatsReport(long Requests, long Errors, long Retries, IReadOnlyDictionary<string, long> StatusCodes, LatencyReport LatencyMs);

/// <param name="Dropped">Copies not sent because the shadow queue or its memory budget was full.</param>
public sealed record ShadowStatsReport(long Requests, long Errors, long Dropped, IReadOnlyDictionary<string, long> StatusCodes, LatencyReport LatencyMs);

/// <summary>Latency percentiles in milliseconds; null before the first request.</summary>
public sealed record LatencyReport(double? P50, double? P95, double? P99);
