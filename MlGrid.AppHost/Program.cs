using MlGrid.AppHost;

var builder = DistributedApplication.CreateBuilder(args);
var settings = LocalSettings.Load(builder);
var adminKey = builder.AddParameter("admin-key", settings.AdminKey, secret: true);

// Proves to the control plane that a management call came through a gateway, which checked the caller's key.
var internalKey = builder.AddParameter("internal-key", settings.InternalKey, secret: true);

// Storage: Azurite locally (installed from npm on first run), holding cluster membership, grain state and artifacts.
var storage = builder.AddAzurite("storage", settings);

// Control plane: model registry, endpoints, routing table, the /api/v1 management API. Not behind a proxy, so
// while it is stopped the gateway is refused at once (and answers 502) instead of waiting on a dead proxy.
var controlPlane = builder.AddProject<Projects.MlGrid_ControlPlane>("controlplane")
    .WithHttpEndpoint(port: MlGridResourceExtensions.FreePort(), isProxied: false)
    .WithMlGridCluster(storage, settings)
    .WithSiloAddress(settings)
    .WithEnvironment("Governance__InternalKey", internalKey)
    .WithHttpHealthCheck("/health");

// Workers: ONNX Runtime on CUDA when a GPU is present, CPU otherwise.
var worker = builder.AddProject<Projects.MlGrid_Worker>("worker")
    .WithHttpEndpoint()
    .WithReplicas(settings.Workers)
    .WithMlGridCluster(storage, settings)
    .WithSiloAddress(settings)
    .WithHttpHealthCheck("/health")
    .WaitFor(controlPlane);

// Gateway: the one public entry point.
builder.AddProject<Projects.MlGrid_Gateway>("gateway")
    .WithHttpEndpoint(port: settings.GatewayPort, isProxied: false)
    .WithExternalHttpEndpoints()
    .WithMlGridCluster(storage, settings)
    .WithReference(controlPlane)
    .WithEnvironment("Gateway__AdminKey", adminKey)
    .WithEnvironment("Governance__InternalKey", internalKey)
    .WithHttpHealthCheck("/health")
    .WaitFor(controlPlane)
    .WaitFor(worker);

builder.Build().Run();
