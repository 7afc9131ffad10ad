// Everything MlGrid runs on, in one resource group: identity, storage, registry, monitoring, the Container Apps
// environment with a GPU workload profile, and the three apps. Settings given to the apps are the keys the services
// read locally (tests/MlGrid.Infra.Tests holds the two lists against each other).

@description('Where the resources go.')
param location string

@description('Tags every resource carries.')
param tags object

@description('Short unique suffix for globally unique names.')
param token string

@description('The azd environment name; the Orleans cluster id derives from it.')
param environmentName string

param gpuProfileName string
param gpuProfileType string
param gpuProfileMinimumCount int
param gpuProfileMaximumCount int

@description('Consumption, or the Dedicated type of the "silo" profile the control plane gets to itself.')
param controlPlaneProfileType string

param workerCpu string
param workerMemory string
param workerMinReplicas int
param workerMaxReplicas int
param workerTrainingSlots int
param gatewayMaxReplicas int

@secure()
param adminKey string

@secure()
param internalKey string

@description('Images; placeholders until azd deploy pushes the real ones.')
param controlPlaneImage string
param workerImage string
param gatewayImage string

var abbreviations = {
  identity: 'id-mlgrid-'
  logAnalytics: 'log-mlgrid-'
  applicationInsights: 'appi-mlgrid-'
  environment: 'cae-mlgrid-'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${abbreviations.identity}${token}'
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: '${abbreviations.logAnalytics}${token}'
    applicationInsightsName: '${abbreviations.applicationInsights}${token}'
    principalId: identity.properties.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: 'stmlgrid${token}'
    principalId: identity.properties.principalId
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  params: {
    location: location
    tags: tags
    name: 'crmlgrid${token}'
    principalId: identity.properties.principalId
  }
}

module environment 'modules/environment.bicep' = {
  name: 'environment'
  params: {
    location: location
    tags: tags
    name: '${abbreviations.environment}${token}'
    logAnalyticsName: monitoring.outputs.logAnalyticsName
    gpuProfileName: gpuProfileName
    gpuProfileType: gpuProfileType
    gpuProfileMinimumCount: gpuProfileMinimumCount
    gpuProfileMaximumCount: gpuProfileMaximumCount
    siloProfileType: controlPlaneProfileType == 'Consumption' ? '' : controlPlaneProfileType
  }
}

// What every process reads: storage by endpoint (no key: the managed identity's token), the cluster, telemetry.
var storageConnection = 'BlobEndpoint=${storage.outputs.blobEndpoint};TableEndpoint=${storage.outputs.tableEndpoint}'
var clusterId = 'mlgrid-${environmentName}'
var common = [
  {
    name: 'ConnectionStrings__storage'
    value: storageConnection
  }
  {
    name: 'Orleans__ClusterId'
    value: clusterId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: monitoring.outputs.applicationInsightsConnectionString
  }
]

// Silos talk to each other on their replica's own address, found at start, listening on every interface on fixed ports.
var silo = [
  {
    name: 'Orleans__Endpoints__AdvertisedIPAddress'
    value: 'auto'
  }
  {
    name: 'Orleans__Endpoints__SiloPort'
    value: '11111'
  }
]

var controlPlaneName = 'controlplane'

module controlPlane 'modules/container-app.bicep' = {
  name: 'controlplane'
  params: {
    location: location
    tags: tags
    name: controlPlaneName
    serviceName: 'controlplane'
    environmentId: environment.outputs.id
    identityId: identity.id
    identityClientId: identity.properties.clientId
    registryServer: registry.outputs.loginServer
    image: controlPlaneImage
    workloadProfileName: environment.outputs.siloProfileName
    cpu: '1.0'
    memory: '2Gi'
    minReplicas: 1
    maxReplicas: 1
    ingress: 'internal'
    env: concat(common, silo, [
      {
        // Where the gateway, an Orleans client, connects.
        name: 'Orleans__Endpoints__GatewayPort'
        value: '30000'
      }
      {
        name: 'OTEL_SERVICE_NAME'
        value: 'controlplane'
      }
      {
        name: 'Governance__InternalKey'
        secretRef: 'internal-key'
      }
    ])
    secrets: {
      'internal-key': internalKey
    }
  }
}

module worker 'modules/container-app.bicep' = {
  name: 'worker'
  params: {
    location: location
    tags: tags
    name: 'worker'
    serviceName: 'worker'
    environmentId: environment.outputs.id
    identityId: identity.id
    identityClientId: identity.properties.clientId
    registryServer: registry.outputs.loginServer
    image: workerImage
    workloadProfileName: gpuProfileName
    cpu: workerCpu
    memory: workerMemory
    minReplicas: workerMinReplicas
    maxReplicas: workerMaxReplicas
    // The gateway reaches each worker at the address it publishes in the cluster, not through ingress.
    ingress: 'none'
    env: concat(common, silo, [
      {
        name: 'OTEL_SERVICE_NAME'
        value: 'worker'
      }
      {
        name: 'Worker__TrainingSlots'
        value: string(workerTrainingSlots)
      }
    ])
    scaleRules: [
      {
        name: 'cpu'
        custom: {
          type: 'cpu'
          metadata: {
            type: 'Utilization'
            value: '70'
          }
        }
      }
    ]
  }
}

module gateway 'modules/container-app.bicep' = {
  name: 'gateway'
  params: {
    location: location
    tags: tags
    name: 'gateway'
    serviceName: 'gateway'
    environmentId: environment.outputs.id
    identityId: identity.id
    identityClientId: identity.properties.clientId
    registryServer: registry.outputs.loginServer
    image: gatewayImage
    workloadProfileName: 'Consumption'
    cpu: '1.0'
    memory: '2Gi'
    minReplicas: 1
    maxReplicas: gatewayMaxReplicas
    ingress: 'external'
    env: concat(common, [
      {
        name: 'OTEL_SERVICE_NAME'
        value: 'gateway'
      }
      {
        name: 'services__controlplane__http__0'
        value: 'http://${controlPlaneName}'
      }
      {
        name: 'Gateway__AdminKey'
        secretRef: 'admin-key'
      }
      {
        name: 'Governance__InternalKey'
        secretRef: 'internal-key'
      }
    ])
    secrets: {
      'admin-key': adminKey
      'internal-key': internalKey
    }
    scaleRules: [
      {
        name: 'http'
        http: {
          metadata: {
            concurrentRequests: '100'
          }
        }
      }
    ]
  }
}

output registryLoginServer string = registry.outputs.loginServer
output registryName string = registry.outputs.name
output gatewayFqdn string = gateway.outputs.fqdn
output storageAccountName string = storage.outputs.name
output environmentName string = environment.outputs.name
