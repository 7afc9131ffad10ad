using MlGrid.Contracts;

namespace MlGrid.Gateway.Routing;

/// <summary>
/// Follows the routing table grain: subscribes for pushed changes and re-reads the table on every renewal, so a
/// gateway catches up after the control plane was away.
/// </summary>
internal sealed class RoutingTableFollower(IClusterClient cluster, RoutingState state, ILogger<RoutingTableFollower> logger)
    : BackgroundService, IRoutingObserver
{
    private static readonly TimeSpan Renewal = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(1);

    public void OnRoutingChanged(RoutingTable table) => Apply(table, "push");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var grain = cluster.GetGrain<IRoutingTableGrain>(IRoutingTableGrain.Key);
        var reference = cluster.CreateObjectReference<IRoutingObserver>(this);
        while (!stoppingToken.IsCancellationRequested)
        {
            var delay = Renewal;
            try
            {
                await grain.Subscribe(reference);
                Apply(await grain.Get(), "read");
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Cannot reach the routing table ({Message}); serving from table version {Version}",
                    ex.Message, state.Table?.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none");
                delay = Retry;
            }

            await Task.Delay(delay, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        try
        {
            await grain.Unsubscribe(reference);
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Unsubscribe on shutdown failed");
        }
    }

    private void Apply(RoutingTable table, string how)
    {
        if (state.TryUpdate(table))
        {
            logger.LogInformation("Routing table version {Version} ({How}): {Endpoints}", table.Version, how,
                string.Join(", ", table.Endpoints.Values.Select(e =>
                    $"{e.Name}[{string.Join(" ", e.Deployments.Select(d => $"{d.Name}:{d.Weight}%/{d.ReplicaUrls.Count}r"))}]")));
        }
    }
}
