using Microsoft.Extensions.DependencyInjection;

namespace MlGrid.ControlPlane.Grains;

public static class ControlPlaneGrainsExtensions
{
    /// <summary>Registers what the control-plane grains need from the host.</summary>
    public static IServiceCollection AddControlPlaneGrains(this IServiceCollection services) =>
        services.AddSingleton<IWorkerCatalog, WorkerCatalog>();
}
