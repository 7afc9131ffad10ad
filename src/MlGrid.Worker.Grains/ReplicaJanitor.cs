using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MlGrid.Contracts;

namespace MlGrid.Worker.Grains;

/// <summary>
/// Drops replicas no endpoint wants any more (the endpoint was deleted, or the replica was placed elsewhere while
/// this worker was out of reach), so their sessions and memory are given back.
/// </summary>
internal sealed class ReplicaJanitor(ModelHost host, IGrainFactory grains, ILogger<ReplicaJanitor> logger) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var replica in host.Replicas)
            {
                try
                {
                    var wanted = await grains.GetGrain<IEndpointGrain>(replica.Assignment.Endpoint)
                        .WantsReplica(replica.Assignment.ReplicaId, host.Worker);
                    if (!wanted)
                    {
                        logger.LogInformation("Replica {Replica} is no longer wanted by endpoint {Endpoint}; removing it",
                            replica.Assignment.ReplicaId, replica.Assignment.Endpoint);
                        host.Remove(replica.Assignment.ReplicaId);
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // The control plane may be away: keep serving, ask again next time.
                    logger.LogDebug(ex, "Could not check replica {Replica}", replica.Assignment.ReplicaId);
                }
            }
        }
    }
}
