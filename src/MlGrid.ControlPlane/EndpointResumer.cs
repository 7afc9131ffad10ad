using MlGrid.Contracts;
using MlGrid.ControlPlane.Grains;

namespace MlGrid.ControlPlane;

/// <summary>
/// After a restart, wakes every endpoint so that it finds its replicas again (or places them anew) and republishes
/// its route, without anyone having to redeploy.
/// </summary>
internal sealed class EndpointResumer(IGrainFactory grains, IHostApplicationLifetime lifetime, ILogger<EndpointResumer> logger) : BackgroundService
{
    private const string AuditComponent = "endpoint-resumer";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await WhenStartedAsync(stoppingToken);
        for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                var names = await grains.GetGrain<IEndpointCatalogGrain>(IEndpointCatalogGrain.Key).List();
                await Task.WhenAll(names.Select(n => grains.GetGrain<IEndpointGrain>(n).Resume()));
                logger.LogInformation("Resumed {Count} endpoint(s)", names.Count);
                await grains.RecordAsync(logger, names
                    .Select(n => SystemAudit.Event(AuditComponent, "endpoint.resumed", $"endpoints/{n}", AuditOutcomes.Succeeded,
                        "The control plane started and resumed the endpoint's replicas and route."))
                    .ToList());
                return;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Resuming endpoints failed (attempt {Attempt}); trying again", attempt);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt * 2, 10)), stoppingToken);
            }
        }
    }

    private Task WhenStartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        return started.Task.WaitAsync(stoppingToken);
    }
}
