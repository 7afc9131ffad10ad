@description('Where the resources go.')
param location string

@description('Tags every resource carries; azd-service-name is added so azd deploy finds the app.')
param tags object

@description('Name of the container app.')
param name string

@description('The azure.yaml service this app runs.')
param serviceName string

param environmentId string

@description('Resource id and client id of the user-assigned identity the app runs as and pulls its image with.')
param identityId string

param identityClientId string

@description('Login server of the container registry images come from.')
param registryServer string

@description('The image; azd deploy replaces the placeholder with the one it builds.')
param image string

// The placeholder of a first provision has none of the health endpoints; Container Apps' default TCP probes cover it.
var realImage = !startsWith(image, 'mcr.microsoft.com/dotnet/samples:')

@description('The workload profile the app runs on: Consumption, or the GPU profile for workers.')
param workloadProfileName string

@description('vCPUs and memory of each replica, e.g. 1.0 and 2Gi.')
param cpu string

param memory string

@minValue(0)
param minReplicas int

@minValue(1)
param maxReplicas int

@description('none, internal (reachable inside the environment) or external (the internet).')
@allowed([
  'none'
  'internal'
  'external'
])
param ingress string

@description('The port the app listens on.')
param targetPort int = 8080

@description('Settings as environment variables: {name, value} or {name, secretRef}.')
param env array

@description('Secrets the settings refer to: {name, value}.')
@secure()
param secrets object = {}

@description('KEDA scale rules.')
param scaleRules array = []

var secretList = [for secret in items(secrets): {
  name: secret.key
  value: secret.value
}]

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: workloadProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: ingress == 'none'
        ? null
        : {
            external: ingress == 'external'
            targetPort: targetPort
            transport: 'http'
            allowInsecure: ingress == 'internal'
          }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      secrets: secretList
    }
    template: {
      containers: [
        {
          name: serviceName
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: concat(env, [
            {
              // DefaultAzureCredential picks the user-assigned identity by this id.
              name: 'AZURE_CLIENT_ID'
              value: identityClientId
            }
          ])
          probes: !realImage ? [] : [
            {
              // Up to 110 s to start: a worker probes its GPU and measures capacity, every silo joins the cluster.
              type: 'Startup'
              httpGet: {
                path: '/alive'
                port: targetPort
              }
              initialDelaySeconds: 10
              periodSeconds: 10
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/alive'
                port: targetPort
              }
              periodSeconds: 10
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/health'
                port: targetPort
              }
              periodSeconds: 5
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: scaleRules
      }
    }
  }
}

output name string = app.name
output fqdn string = ingress == 'none' ? '' : app.properties.configuration.ingress.fqdn
