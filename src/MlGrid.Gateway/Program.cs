using MlGrid.Gateway;
using MlGrid.Gateway.Apis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddGateway();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseGateway();
app.MapOipApi();
app.MapGatewayApi();

app.Run();
