@description('Where the resources go.')
param location string

@description('Tags every resource carries.')
param tags object

@description('Name of the Container Apps environment.')
param name string

@description('Name of the Log Analytics workspace the environment sends container logs to.')
param logAnalyticsName string

@description('Name the GPU workload profile has in the environment; the workers run on it.')
param gpuProfileName string

@description('The GPU workload profile type: serverless (Consumption-GPU-NC8as-T4, Consumption-GPU-NC24-A100) or dedicated (NC24-A100, NC48-A100, NC96-A100).')
param gpuProfileType string

@description('For a dedicated GPU profile: the fewest and most GPU nodes. Ignored for serverless GPU profiles.')
@minValue(0)
param gpuProfileMinimumCount int = 0

@minValue(1)
param gpuProfileMaximumCount int = 1

@description('Dedicated workload profile type (D4, …) of a "silo" profile for the control plane; empty to run it on Consumption.')
param siloProfileType string = ''

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsName
}

var serverlessGpu = startsWith(gpuProfileType, 'Consumption')
var gpuProfile = serverlessGpu
  ? {
      name: gpuProfileName
      workloadProfileType: gpuProfileType
    }
  : {
      name: gpuProfileName
      workloadProfileType: gpuProfileType
      minimumCount: gpuProfileMinimumCount
      maximumCount: gpuProfileMaximumCount
    }

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logAnalytics.properties.customerId
        sharedKey: logAnalytics.listKeys().primarySharedKey
      }
    }
    workloadProfiles: concat(
      [
        {
          name: 'Consumption'
          workloadProfileType: 'Consumption'
        }
        gpuProfile
      ],
      empty(siloProfileType)
        ? []
        : [
            {
              name: 'silo'
              workloadProfileType: siloProfileType
              minimumCount: 1
              maximumCount: 1
            }
          ]
    )
  }
}

output id string = environment.id
output name string = environment.name
@description('The profile the control plane runs on.')
output siloProfileName string = empty(siloProfileType) ? 'Consumption' : 'silo'
output defaultDomain string = environment.properties.defaultDomain
