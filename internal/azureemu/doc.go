// Package azureemu is an in-process emulator of the Microsoft cloud APIs the
// Sentinel / Microsoft Graph security connector talks to. It serves HTTPS
// on loopback with a certificate generated per instance, so the Azure SDK
// for Go (which refuses to send tokens over plain HTTP) works against it
// unchanged, and it checks requests the way the real services do, so a
// connector that passes against it has its URLs, bodies, permissions and
// error handling right.
//
// # What it serves
//
// One host, routed by path:
//
//   - Entra ID: GET /{tenant}/v2.0/.well-known/openid-configuration (and
//     the v1 document), GET /{tenant}/discovery/v2.0/keys, POST
//     /{tenant}/oauth2/v2.0/token (scope) and /{tenant}/oauth2/token
//     (resource). Client credentials, with a client secret (form or
//     HTTP Basic) or a certificate's client assertion; and, for sign-in to
//     web apps, GET|POST /{tenant}/oauth2/v2.0/authorize with the
//     authorization_code grant (see signin.go: AddUser, SignInAs,
//     AddRedirectURIs).
//   - ARM: GET .../workspaces/{ws} (properties.customerId), POST
//     .../workspaces/{ws}/sharedKeys, and Microsoft.SecurityInsights
//     incidents: list, get, put, delete, POST .../alerts, .../entities,
//     .../bookmarks, comments list/get/put/delete.
//   - Microsoft Graph (/v1.0 and /beta): /security/incidents (list, get,
//     PATCH, POST comments, GET alerts), /security/alerts_v2 (list, get,
//     PATCH, POST comments), legacy /security/alerts (list, get, PATCH).
//   - Log Analytics query: POST or GET /v1/workspaces/{workspaceId}/query.
//   - Logs Ingestion: POST /dataCollectionRules/{id}/streams/{stream}.
//   - HTTP Data Collector: POST /api/logs (the workspace comes from the
//     SharedKey header, as the real host name cannot be emulated).
//   - Provisioning (what `lastmile azure setup` calls): the device code
//     flow (POST /{tenant}/oauth2/v2.0/devicecode, the token endpoint's
//     device_code and refresh_token grants, a verification page at
//     /{tenant}/devicelogin); Graph /applications (create, list with
//     $filter, get by id or (appId='…'), PATCH, DELETE, addPassword,
//     removePassword, addKey, removeKey), /servicePrincipals (create,
//     list, get, delete; appRoleAssignedTo and appRoleAssignments: list,
//     grant, revoke), /me and /organization; ARM GET /subscriptions,
//     .../resourcegroups and .../Microsoft.OperationalInsights/workspaces
//     lists, {scope}/providers/Microsoft.Authorization/roleDefinitions
//     (list with $filter, get) and roleAssignments (PUT, GET, DELETE,
//     list with $filter), .../workspaces/{ws}/tables/{name}, and
//     Microsoft.Insights dataCollectionEndpoints and dataCollectionRules
//     (PUT, GET, DELETE, list).
//
// Every answer carries Date (from the emulator's clock), x-ms-request-id and
// request-id; client-request-id and x-ms-client-request-id are echoed.
//
// # What it checks
//
// Tokens: unknown tenant (400 AADSTS90002), unknown client (400
// AADSTS700016), wrong secret (401 AADSTS7000215), expired secret (401
// AADSTS7000222), no credential (401 AADSTS7000218), grant_type missing
// (AADSTS900144) or not client_credentials (AADSTS70003), scope not exactly
// one known resource with /.default (AADSTS1002012, AADSTS70011,
// AADSTS500011; openid/offline_access/profile are ignored, the monitor
// "//.default" form is accepted, claims is ignored). Client assertions
// must be RS256/PS256-signed by a registered certificate (x5t or x5t#S256
// selects it), with iss = sub = client id, aud = a token endpoint of the
// tenant and exp/nbf within five minutes. Error bodies have error,
// error_description ("AADSTSn: … Trace ID … Correlation ID … Timestamp"),
// error_codes, timestamp, trace_id, correlation_id and error_uri.
//
// Access tokens are RS256 JWTs (aud, tid, appid, oid, roles for Graph,
// exp from the clock) verified on every call: missing, forged, expired or
// for another API's audience are refused with each API's own 401/403 body.
// Graph checks the application roles in the token (403 "Missing
// application roles…"); ARM, Log Analytics and Logs Ingestion check the
// app's current role assignments (ARM 403 AuthorizationFailed naming the
// client, object id, action and scope; Log Analytics 403
// InsufficientAccessError; ingestion 403 OperationFailed).
//
// Roles: Microsoft Sentinel Reader / Responder / Contributor, Log Analytics
// Reader / Contributor, Reader, Contributor, Owner, plus custom roles added
// with AddRole; assignments apply at their scope and below. Reading
// incidents needs a Sentinel role (or Reader); changing status, owner,
// classification and comments needs Responder; changing labels needs
// Contributor — the emulator checks a pseudo-action
// Microsoft.SecurityInsights/incidents/labels/write for that, named in the
// 403, so least-privilege setups are testable. Querying a workspace needs
// Log Analytics Reader or any Sentinel role (which include it).
//
// Sentinel: api-version allow-list (2025-12-01, 2025-09-01,
// 2025-07-01-preview, 2025-06-01, 2024-09-01, 2021-10-01; others 400
// InvalidApiVersionParameter); $filter with eq ne gt ge lt le, in, and, or,
// not and parentheses over properties/{status, severity, classification,
// title, incidentNumber, createdTimeUtc, lastModifiedTimeUtc, owner/…}
// (anything else 400); $orderby on the same; $top 1–1000 (default 50,
// newest created first); nextLink with $skipToken. PUT needs title,
// severity and status; enums are checked (case-insensitively, answered in
// canonical case); Closed needs a classification and a reason matching it;
// a stale etag (body or If-Match) gets 409 "Newer version of resource '…'
// exists. Data was not saved"; a new incident answers 201 with the next
// incident number, an update 200 with a new quoted etag. Optional
// properties absent from a PUT keep their value; AutoAssigned labels cannot
// be added or removed. Adding a comment changes the incident's
// lastModifiedTimeUtc and etag, as Sentinel does.
//
// Graph: $filter on the documented properties only (case-sensitive names,
// unquoted datetimes, quoted strings), $top ≤ 1000 (default page 50),
// $skip, $count, $expand=alerts on incidents, @odata.nextLink. PATCH
// accepts only the updatable properties and valid enum values; incidents
// and alerts_v2 answer 200 with the object, legacy alerts 204 (200 with
// Prefer: return=representation) and need vendorInformation.provider and
// .vendor (400 without; another provider does not find the alert: 404).
// Legacy $skip above 500 is 400. serviceSource/detectionSource values added
// after unknownFutureValue (microsoftSentinel, scheduledAlerts, …) and
// incident status awaitingAction are served as unknownFutureValue unless
// the request has Prefer: include-unknown-enum-members. Resolving an
// incident resolves its alerts; MergeGraphIncidents makes an incident
// redirected with redirectIncidentId.
//
// Log Analytics: audience https://api.loganalytics.io (or .azure.com);
// {"query","timespan"}; 400 BadArgumentError for an empty or unsupported
// query, an unknown table or column, or a bad timespan; 204 when the
// workspace holds no data; 200 with an empty body when a POST has no JSON
// Content-Type; otherwise {"tables":[{"name":"PrimaryResult",…}]}. Queries
// registered with SetQueryResult answer as registered; otherwise a tiny KQL
// subset runs over stored rows (print; T | where/project/order by/top/
// take/limit/count), with the timespan applied to TimeGenerated.
//
// Logs Ingestion: audience https://monitor.azure.com (either form),
// Monitoring Metrics Publisher on the DCR (App.IngestionRoles), body a
// JSON array of objects up to 1 MB (optionally gzip), answer 204; rows land
// in the stream's table with TimeGenerated added when missing. (The real
// service answers 204 to a lone object and drops it; the emulator says 400.)
//
// Data Collector: SharedKey HMAC-SHA256 over "POST\n{length}\n{Content-Type
// as sent}\nx-ms-date:{date}\n/api/logs" with the base64-decoded key (the
// body's bytes are not signed, only its length), x-ms-date RFC 1123 within
// 15 minutes of the clock, Log-Type letters/digits/underscore up to 100,
// a JSON array of records; 200 on success, PascalCase {"Error","Message"}
// otherwise. Rows land in {Log-Type}_CL with _s/_d/_b/_t/_g suffixes.
//
// Provisioning: device codes live 15 minutes; polling again within the
// 5 s interval answers slow_down, then authorization_pending until the
// code is approved (ApproveDeviceCode, the verification page, or
// SetAutoApprove), authorization_declined after DeclineDeviceCode; only
// public clients (the Azure CLI, Microsoft Graph Command Line Tools, apps
// with isFallbackPublicClient) redeem codes. Delegated tokens carry scp,
// the user's oid, upn and wids (directory roles set with
// SetDirectoryRoles); the Azure CLI gets its real Graph .default scopes
// and may ask for nothing else (AADSTS65002); one request names one
// resource (AADSTS28000); refresh tokens work for any resource. Graph
// directory calls need Application.ReadWrite.All (reads:
// Application.Read.All) or the app-only role; changing an app needs its
// owner or an application administrator; granting Microsoft Graph app
// roles needs AppRoleAssignment.ReadWrite.All and Privileged Role
// Administrator or Global Administrator (403 Authorization_RequestDenied);
// a duplicate grant is 400 "Permission being assigned already exists on
// the object". Grants are the app's GraphRoles (SetGraphRoles agrees), the
// newest client secret and uploaded certificates work at the token
// endpoint at once, and deleting an app or its service principal stops
// both. SetReplicationLag hides young objects from dependent writes
// (NoBackingApplicationObject, Request_ResourceNotFound, PrincipalNotFound
// without principalType). ARM role assignments need roleAssignments/write
// at the scope (Owner, User Access Administrator), a GUID name, a known
// role and principal; the same principal, role and scope under another
// name is 409 RoleAssignmentExists, a changed one 400
// RoleAssignmentUpdateNotPermitted. They feed every ARM, Log Analytics and
// ingestion check, for apps and users alike. Tables need a _CL name, valid
// columns and TimeGenerated (SetAsyncTables answers 202 with an operation
// to poll); DCRs need streams, destinations and data flows that reference
// each other, an existing output table and a workspace in the same
// region; kind Direct adds endpoints.logsIngestion (the emulator's URL),
// and the rule then works at the Logs Ingestion endpoint for callers with
// Monitoring Metrics Publisher on it (a data action: Owner is not enough).
//
// # Using it in tests
//
//	emu := azureemu.New(azureemu.Options{Clock: clk})
//	if err := emu.Start(); err != nil { t.Fatal(err) }
//	t.Cleanup(emu.Close)
//	emu.AddTenant(tenant)
//	emu.AddApp(tenant, azureemu.App{ClientID: id, Secret: secret,
//		GraphRoles: []string{"SecurityIncident.ReadWrite.All"},
//		ARMRoles:   map[string][]string{ws.ResourceID(): {"Microsoft Sentinel Responder"}}})
//	ws, _ := emu.AddWorkspace(azureemu.Workspace{SubscriptionID: sub, ResourceGroup: rg, Name: "ws"})
//	inc, _ := emu.AddIncident("ws", azureemu.Incident{Title: "Brute force", Severity: "High"})
//
//	opts := azcore.ClientOptions{
//		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: emu.URL() + "/"},
//		Transport: emu.Client(),
//	}
//	cred, _ := azidentity.NewClientSecretCredential(tenant, id, secret,
//		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
//
// Point every API base URL (ARM, Graph, Log Analytics, ingestion endpoint,
// Data Collector) at emu.URL(). Then drive the connector and assert on
// Incident, Comments, GraphIncident, GraphAlert, LegacyAlert, Rows and
// Requests; simulate changes made in the portal with UpdateIncident,
// UpdateGraphIncident, UpdateGraphAlert and MergeGraphIncidents; inject
// failures with Fail (429 with Retry-After, 5xx, 401…, in each API's
// error shape), ExpireTokens and SetDelay.
//
// For provisioning, add the admin with AddUser, SetDirectoryRoles and
// GrantUserARMRole (AddSubscription and AddResourceGroup add places
// without a workspace), sign in with the device code flow (SetAutoApprove,
// or ApproveDeviceCode with a code from PendingDeviceCodes), then assert
// on Applications, ServicePrincipals, AppRoleGrants, RoleAssignments,
// DataCollectionRules, DataCollectionEndpoints, TableColumns and
// WriteRequests (a dry run makes none).
//
// Clock notes: the emulator's clock drives token expiry and every
// timestamp, but TLS certificates and MSAL's client assertions use the
// wall clock, so with certificate credentials keep a fake clock near
// time.Now. The SDKs cache tokens by their own (wall) clock: after
// ExpireTokens or advancing a fake clock past expiry, a cached token keeps
// being refused until the client gets a new one.
//
// Handler serves the same routes for mounting elsewhere (e.g. a command
// serving the emulator on a fixed address: prefer Options.Addr and Start,
// which also give TLS); links the emulator returns (nextLink, token
// endpoints) are built from the request's Host with https.
package azureemu
