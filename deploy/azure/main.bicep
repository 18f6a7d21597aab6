// lastmile: the Azure resources `lastmile azure setup` makes, for admins who
// provision through their own pipeline. Deploy it to the Sentinel
// workspace's resource group, for the connector app's service principal
// (app.bicep, setup.sh or the portal made it):
//
//   az deployment group create -g <workspace resource group> \
//     --template-file deploy/azure/main.bicep \
//     --parameters workspaceName=<workspace> principalObjectId=<service principal object id> \
//                  clientId=<app (client) id> lifecycleLog=true
//
// It assigns roles on the workspace only, never the subscription:
// Microsoft Sentinel Responder (Contributor with labels=true) in sentinel
// mode and Log Analytics Reader for augmentation; with lifecycleLog, it
// makes the table SIGNL4_CL, the data collection rule lastmile-signl4-dcr
// (kind Direct, so it has its own Logs Ingestion endpoint) and Monitoring
// Metrics Publisher on it. Names and tags are the command's, so
// `lastmile azure setup` run later finds these objects as its own.
// Deploying needs Owner (or User Access Administrator plus Log Analytics
// Contributor) on the resource group. See deploy/azure/README.md.
targetScope = 'resourceGroup'

@description('The Microsoft Sentinel (Log Analytics) workspace, in this resource group.')
param workspaceName string

@description('The object id of the connector app\'s service principal (not the app id): app.bicep\'s spObjectId, or az ad sp show --id <app id> --query id -o tsv.')
param principalObjectId string

@description('The connector app\'s application (client) id; tags the data collection rule as lastmile azure setup does.')
param clientId string = ''

@description('The connector\'s source mode: the Sentinel roles are for sentinel; the graph_* modes need only Graph permissions (app.bicep).')
@allowed([
  'sentinel'
  'graph_incidents'
  'graph_alerts'
  'graph_legacy'
])
param mode string = 'sentinel'

@description('Microsoft Sentinel Contributor instead of Responder, so the connector may put its label (SIGNL4) on incidents.')
param labels bool = false

@description('Log Analytics Reader, so the connector can run the analytics rules\' queries and attach their results (on by default in sentinel mode).')
param augment bool = mode == 'sentinel'

@description('The lifecycle log: the table SIGNL4_CL, a data collection rule of kind Direct and Monitoring Metrics Publisher on it.')
param lifecycleLog bool = false

@description('With lifecycleLog: make (or complete) the table. Off when SIGNL4_CL exists and is not to be touched; the rule then needs it to exist.')
param createTable bool = true

// Built-in role definitions (their GUIDs are the same in every tenant).
var roleSentinelResponder = '3e150937-b8fe-4cfb-8069-0eaf05ecd056'
var roleSentinelContributor = 'ab8e14d6-4a74-4a29-9ba8-549422addade'
var roleLogAnalyticsReader = '73c42c96-874c-492b-b04d-ab87d138a893'
var roleMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
var sentinelRole = labels ? roleSentinelContributor : roleSentinelResponder

// The lifecycle log, as the connector writes it (docs/sentinel.md).
var logTable = 'SIGNL4_CL'
var logStream = 'Custom-SIGNL4_CL'
var dcrName = 'lastmile-signl4-dcr'
var logColumns = [
  { name: 'TimeGenerated', type: 'datetime' }
  { name: 'EventType', type: 'string' }
  { name: 'AlertId', type: 'string' }
  { name: 'AlertTitle', type: 'string' }
  { name: 'IncidentId', type: 'string' }
  { name: 'User', type: 'string' }
  { name: 'UserEmail', type: 'string' }
  { name: 'Text', type: 'string' }
  { name: 'Source', type: 'string' }
]

resource ws 'Microsoft.OperationalInsights/workspaces@2022-10-01' existing = {
  name: workspaceName
}

// Read incidents; change status, owner and comments (Contributor: labels too).
resource sentinelAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (mode == 'sentinel') {
  name: guid(ws.id, principalObjectId, sentinelRole)
  scope: ws
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sentinelRole)
    principalId: principalObjectId
    principalType: 'ServicePrincipal'
    description: 'lastmile Sentinel connector: read incidents and write back what responders do.'
  }
}

// Run the analytics rules' queries to augment alerts.
resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (augment) {
  name: guid(ws.id, principalObjectId, roleLogAnalyticsReader)
  scope: ws
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleLogAnalyticsReader)
    principalId: principalObjectId
    principalType: 'ServicePrincipal'
    description: 'lastmile Sentinel connector: run analytics rule queries for augmentation.'
  }
}

resource table 'Microsoft.OperationalInsights/workspaces/tables@2022-10-01' = if (lifecycleLog && createTable) {
  parent: ws
  name: logTable
  properties: {
    schema: {
      name: logTable
      columns: logColumns
    }
    retentionInDays: 30
  }
}

resource dcr 'Microsoft.Insights/dataCollectionRules@2023-03-11' = if (lifecycleLog) {
  name: dcrName
  location: ws.location
  kind: 'Direct'
  tags: {
    'lastmile-setup': 'true'
    'lastmile-app': clientId
    'lastmile-created-table': createTable ? 'true' : 'false'
  }
  properties: {
    description: 'lastmile alert lifecycle records (created by deploy/azure/main.bicep)'
    streamDeclarations: {
      '${logStream}': {
        columns: logColumns
      }
    }
    destinations: {
      logAnalytics: [
        {
          workspaceResourceId: ws.id
          name: 'workspace'
        }
      ]
    }
    dataFlows: [
      {
        streams: [
          logStream
        ]
        destinations: [
          'workspace'
        ]
        transformKql: 'source'
        outputStream: logStream
      }
    ]
  }
  dependsOn: [
    table
  ]
}

// Send lifecycle records through the rule (a data action: Owner is not enough).
resource publisherAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (lifecycleLog) {
  name: guid(resourceId('Microsoft.Insights/dataCollectionRules', dcrName), principalObjectId, roleMetricsPublisher)
  scope: dcr
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleMetricsPublisher)
    principalId: principalObjectId
    principalType: 'ServicePrincipal'
    description: 'lastmile Sentinel connector: write lifecycle records to SIGNL4_CL.'
  }
}

// What the connector's settings need, beside the client id and secret.
output tenantId string = tenant().tenantId
output subscriptionId string = subscription().subscriptionId
output resourceGroup string = resourceGroup().name
output workspaceName string = ws.name
output workspaceId string = ws.properties.customerId
output logsIngestionEndpoint string = lifecycleLog ? dcr!.properties.endpoints.logsIngestion : ''
output dcrImmutableId string = lifecycleLog ? dcr!.properties.immutableId : ''
output logStream string = lifecycleLog ? logStream : ''
