using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;

namespace MlGrid.ControlPlane.Grains;

public static class ControlPlaneGrainsExtensions
{
    /// <summary>
    /// Registers what the control-plane grains need from the host. The audit, metric-history and training-log stores are built when a grain that
    /// uses them first activates, so a silo without blob storage (the grains tests) still starts and runs every other grain.
    /// </summary>
    public static IServiceCollection AddControlPlaneGrains(this IServiceCollection services) =>
        services
            .AddSingleton<IWorkerCatalog, WorkerCatalog>()
            .AddSingleton(sp => new AuditStore(sp.GetRequiredService<BlobServiceClient>()))
            .AddSingleton(sp => new MetricHistoryStore(sp.GetRequiredService<BlobServiceClient>()))
            .AddSingleton(sp => new MlGrid.Hosting.TrainingLogStore(sp.GetRequiredService<BlobServiceClient>()));
}
