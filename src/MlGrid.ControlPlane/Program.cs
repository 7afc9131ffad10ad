using MlGrid.ControlPlane;
using MlGrid.ControlPlane.Apis;
using MlGrid.ControlPlane.Apis.Mlflow;
using MlGrid.ControlPlane.Governance;
using MlGrid.ControlPlane.Http;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddControlPlane();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.MapDefaultEndpoints();
app.UseGovernance();
app.UseMiddleware<Utf8JsonBodies>();
app.MapOpenApi("/api/v1/openapi.json");
app.MapModelsApi();
app.MapDatasetsApi();
app.MapDatasetLineageApi();
app.MapEndpointsApi();
app.MapTrainingJobsApi();
app.MapWorkersApi();
app.MapKeysApi();
app.MapAuditApi();
app.MapMlflowApi();
app.MapMlflowArtifactsApi();

app.Run();
