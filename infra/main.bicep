targetScope = 'subscription'

// MlGrid on Azure Container Apps: `azd up` provisions this, then builds and deploys the three services.

@minLength(1)
@maxLength(40)
@description('The azd environment name: names the resource group and the Orleans cluster.')
param environmentName string

@minLength(1)
@description('Azure region; it must offer the GPU workload profile chosen below.')
param location string

@description('Name the GPU workload profile gets in the Container Apps environment.')
param gpuProfileName string = 'gpu'

@description('GPU workload profile type: Consumption-GPU-NC8as-T4 or Consumption-GPU-NC24-A100 (serverless, billed per second while replicas run), or NC24-A100 / NC48-A100 / NC96-A100 (dedicated nodes).')
param gpuProfileType string = 'Consumption-GPU-NC8as-T4'

@description('For a dedicated GPU profile: fewest and most nodes.')
@minValue(0)
param gpuProfileMinimumCount int = 0

@minValue(1)
param gpuProfileMaximumCount int = 1

@description('Where the control-plane silo runs: D4 (the default) or another Dedicated type gives it a node of its own in a profile named "silo"; Consumption is cheaper, but Orleans silos there have been reported unreachable by other replicas.')
@allowed([
  'Consumption'
  'D4'
  'D8'
  'E4'
  'E8'
])
param controlPlaneProfileType string = 'D4'

@description('vCPUs and memory of a worker replica; they must fit the GPU profile (8 and 56Gi for NC8as-T4).')
param workerCpu string = '8.0'

param workerMemory string = '56Gi'

@description('Fewest and most worker replicas; replicas are added when CPU use passes 70 %.')
@minValue(0)
param workerMinReplicas int = 1

@minValue(1)
param workerMaxReplicas int = 4

@description('Training jobs each worker runs at once (0: inference only).')
@minValue(0)
param workerTrainingSlots int = 1

@description('Most gateway replicas; one is added per 100 concurrent requests.')
@minValue(1)
param gatewayMaxReplicas int = 3

@secure()
@minLength(24)
@description('The admin API key (send as Authorization: Bearer <key>); azd asks for it once and keeps it in the environment.')
param adminKey string

@description('Images: the ones azd deployed last (main.parameters.json reads them from the azd environment), or on the first provision a placeholder that serves HTTP on 8080 until azd deploy replaces it.')
param controlPlaneImage string = 'mcr.microsoft.com/dotnet/samples:aspnetapp'

param workerImage string = 'mcr.microsoft.com/dotnet/samples:aspnetapp'

param gatewayImage string = 'mcr.microsoft.com/dotnet/samples:aspnetapp'

// Proves to the control plane that a call came through a gateway. Derived from the admin key, so it stays the same
// on every provision (replicas started before and after one agree) and changes only when the admin key does.
var internalKey = guid(adminKey, environmentName, 'mlgrid-internal-key')

var tags = {
  'azd-env-name': environmentName
  application: 'mlgrid'
}

var token = toLower(uniqueString(subscription().id, environmentName, location))

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module resources 'resources.bicep' = {
  name: 'mlgrid'
  scope: group
  params: {
    location: location
    tags: tags
    token: token
    environmentName: environmentName
    gpuProfileName: gpuProfileName
    gpuProfileType: gpuProfileType
    gpuProfileMinimumCount: gpuProfileMinimumCount
    gpuProfileMaximumCount: gpuProfileMaximumCount
    controlPlaneProfileType: controlPlaneProfileType
    workerCpu: workerCpu
    workerMemory: workerMemory
    workerMinReplicas: workerMinReplicas
    workerMaxReplicas: workerMaxReplicas
    workerTrainingSlots: workerTrainingSlots
    gatewayMaxReplicas: gatewayMaxReplicas
    adminKey: adminKey
    internalKey: internalKey
    controlPlaneImage: controlPlaneImage
    workerImage: workerImage
    gatewayImage: gatewayImage
  }
}

// azd reads these: where to push images, and what to show after `azd up`.
output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = resources.outputs.registryLoginServer
output AZURE_CONTAINER_REGISTRY_NAME string = resources.outputs.registryName
output AZURE_CONTAINER_APPS_ENVIRONMENT_NAME string = resources.outputs.environmentName
output MLGRID_GATEWAY_URL string = 'https://${resources.outputs.gatewayFqdn}'
output MLGRID_STORAGE_ACCOUNT string = resources.outputs.storageAccountName
