// lastmile: the connector's app registration, its service principal and
// the Microsoft Graph permission grants, with the Microsoft Graph Bicep
// extension.
//
// *** This file makes Microsoft Entra ID (directory) objects, not Azure
// *** resources. It needs Bicep 0.36.1 or later with bicepconfig.json
// *** beside it, and a deploying identity that may create applications
// *** (Application.ReadWrite.All) and, in the graph_* modes, grant Microsoft
// *** Graph application permissions (Privileged Role Administrator or
// *** Global Administrator). Deploy it at any resource group; nothing is
// *** created there:
//
//   az deployment group create -g <any resource group> --template-file deploy/azure/app.bicep \
//     --parameters mode=sentinel
//
// Bicep cannot make a client secret. Add one afterwards, shown once:
//
//   az ad app credential reset --id <clientId output> --display-name lastmile-setup --years 1 --append
//
// Names and tags are those of `lastmile azure setup`, which finds this app
// as its own (and --remove removes it). Then deploy main.bicep with the
// spObjectId output as principalObjectId.
extension microsoftGraphV1

@description('The connector\'s source mode; it decides the Microsoft Graph application permissions (sentinel needs none: it works through Azure roles, main.bicep).')
@allowed([
  'sentinel'
  'graph_incidents'
  'graph_alerts'
  'graph_legacy'
])
param mode string = 'sentinel'

@description('The app registration\'s display name.')
param appName string = 'lastmile Sentinel connector'

@description('The Graph Bicep key of the app registration: deploying again with the same one updates it instead of making another.')
param uniqueName string = 'lastmile-sentinel-connector'

var graphAppId = '00000003-0000-0000-c000-000000000000'
// Microsoft Graph application permissions (app role ids), read/write since
// the connector writes back.
var permissions = {
  sentinel: []
  graph_incidents: [
    '34bf0e97-1971-4929-b999-9e2442d941d7' // SecurityIncident.ReadWrite.All
  ]
  graph_alerts: [
    'ed4fca05-be46-441f-9803-1873825f8fdb' // SecurityAlert.ReadWrite.All
    '34bf0e97-1971-4929-b999-9e2442d941d7' // SecurityIncident.ReadWrite.All: the alerts' incident
  ]
  graph_legacy: [
    'd903a879-88e0-4c09-b0c9-82f6a1333f84' // SecurityEvents.ReadWrite.All
  ]
}
var wanted = permissions[mode]
var graphAccess = [
  {
    resourceAppId: graphAppId
    resourceAccess: map(wanted, id => { id: id, type: 'Role' })
  }
]

resource graphSp 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: graphAppId
}

resource app 'Microsoft.Graph/applications@v1.0' = {
  displayName: appName
  uniqueName: uniqueName
  signInAudience: 'AzureADMyOrg'
  tags: [
    'lastmile-setup'
  ]
  notes: 'Created by deploy/azure/app.bicep for the lastmile Microsoft Sentinel / Graph security connector (mode ${mode}). lastmile azure setup --remove --app-name "${appName}" removes it and everything it was given.'
  requiredResourceAccess: empty(wanted) ? [] : graphAccess
}

resource sp 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: app.appId
  tags: [
    'lastmile-setup'
  ]
}

// Admin consent: one app role assignment to Microsoft Graph per permission.
resource grants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for id in wanted: {
    principalId: sp.id
    resourceId: graphSp.id
    appRoleId: id
  }
]

output tenantId string = tenant().tenantId
output clientId string = app.appId
output appObjectId string = app.id
output spObjectId string = sp.id
