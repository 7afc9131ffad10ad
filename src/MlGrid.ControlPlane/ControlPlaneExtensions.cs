using MlGrid.Contracts;
using MlGrid.ControlPlane.Apis;
using MlGrid.ControlPlane.Apis.Mlflow;
using MlGrid.ControlPlane.Governance;
using MlGrid.ControlPlane.Grains;
using MlGrid.Hosting;

namespace MlGrid.ControlPlane;

public static class ControlPlaneExtensions
{
    public static WebApplicationBuilder AddControlPlane(this WebApplicationBuilder builder)
    {
        builder.AddMlGridSilo(SiloRoles.Control);
        builder.Services.AddControlPlaneGrains();
        builder.Services.AddOptions<ModelUploadOptions>()
            .BindConfiguration(ModelUploadOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<GovernanceOptions>()
            .BindConfiguration(GovernanceOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<DatasetUploadOptions>()
            .BindConfiguration(DatasetUploadOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<ModelFiles>();
        builder.Services.AddSingleton<MlflowModelSources>();
        builder.Services.AddMlflowArtifacts();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<RequestExceptionHandler>();
        builder.Services.AddOpenApi("v1");
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());

            // A metric can be infinite (a log-loss where a confident prediction was wrong): written as "Infinity", as inference does.
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
        });
        builder.Services.AddHostedService<EndpointResumer>();
        builder.Services.AddTrainingScheduler();
        return builder;
    }
}
