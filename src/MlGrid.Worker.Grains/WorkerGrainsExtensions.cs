using Microsoft.Extensions.DependencyInjection;

namespace MlGrid.Worker.Grains;

public static class WorkerGrainsExtensions
{
    public static IServiceCollection AddWorkerGrains(this IServiceCollection services)
    {
        services.AddOptions<ModelHostOptions>()
            .BindConfiguration(ModelHostOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<BatchingMetrics>();
        services.AddSingleton<ModelHost>();
        services.AddSingleton<TrainingHost>();
        services.AddSingleton<MlGrid.Hosting.MlflowArtifactStore>();
        services.AddSingleton<MlGrid.Hosting.TrainingLogStore>();
        services.AddHostedService<ReplicaJanitor>();
        return services;
    }
}
