// Package sentinel is the wire-level client the Microsoft Sentinel
// connector uses to talk to Microsoft: Entra ID for tokens, Sentinel
// through Azure Resource Manager, the Microsoft Graph security API, Log
// Analytics queries, and the two ways of writing to a workspace (Logs
// Ingestion and the legacy HTTP Data Collector). It knows the requests
// and answers; what to do with incidents is the connector's business.
//
// # Signing in
//
// One app registration signs in with a client secret or a certificate
// (PEM, RSA key) through azidentity, with instance discovery off so a
// local emulator can stand in for Entra. One credential serves every
// audience; azidentity caches each audience's token and renews it before
// it expires. When a service rejects a token early (401), the client asks
// Entra for a new one once, with a claims challenge that bypasses the
// cache, and repeats the call. Sign-in failures come back as *TokenError
// in plain words with the AADSTS code kept: a wrong secret (7000215), an
// expired secret (7000222), an unknown app (700016) or tenant (90002), a
// missing service (500011), a bad scope (1002012), a certificate not on
// the app (700027), and so on.
//
// # Calls and what they need
//
// Sentinel, on the workspace (Azure roles, assigned on the workspace or
// its resource group):
//
//	ListIncidents, GetIncident            Microsoft Sentinel Reader
//	IncidentAlerts, IncidentEntities      Microsoft Sentinel Reader
//	UpdateIncident (status, owner,        Microsoft Sentinel Responder
//	  classification)
//	UpdateIncident changing labels        Microsoft Sentinel Contributor
//	AddIncidentComment                    Microsoft Sentinel Responder
//	Workspace (the workspace's ARM GET)   Reader (any of the above includes it)
//
// Graph security (application permissions, admin-consented):
//
//	ListGraphIncidents                    SecurityIncident.Read.All
//	UpdateGraphIncident, CommentGraphIncident   SecurityIncident.ReadWrite.All
//	ListAlertsV2                          SecurityAlert.Read.All
//	UpdateAlertV2, CommentAlertV2         SecurityAlert.ReadWrite.All
//	ListLegacyAlerts                      SecurityEvents.Read.All
//	UpdateLegacyAlert                     SecurityEvents.ReadWrite.All
//
// Sentinel incidents reach Graph only when the workspace is onboarded to
// the Defender portal; the legacy alerts API is being retired by
// Microsoft, so new set-ups should use incidents or alerts_v2.
//
// Workspace data:
//
//	Query (Log Analytics, for augmentation)   Log Analytics Reader on the workspace
//	Upload (Logs Ingestion)                   Monitoring Metrics Publisher on the data collection rule
//	PostDataCollector (legacy)                the workspace's shared key (no role; no token)
//
// CheckPermissions proves what it can with read-only calls (a token per
// audience, the workspace GET, a one-item list, a "print x=1" query) and
// reads write rights from ARM's permission listing or the Graph token's
// roles claim. It never writes: a write it cannot prove is reported as
// unverified, to be confirmed by the first write-back.
//
// # Wire behaviour
//
// Sentinel uses api-version 2025-09-01. Listing filters on
// properties/lastModifiedTimeUtc and orders by it ascending, and Graph
// lists filter on lastUpdateDateTime, so a caller can keep a watermark;
// every next link is followed verbatim, but only on the host the first
// page came from. Graph calls send "Prefer: include-unknown-enum-members"
// so Sentinel's own enum values (microsoftSentinel, scheduledAlerts) come
// through. Timestamps with 7 fractional digits and without a zone parse.
//
// UpdateIncident reads, lets the caller change the incident, and PUTs it
// back with its etag; on 409 (someone saved first) it reads again and
// repeats, up to three times. The PUT body is the properties exactly as
// Sentinel sent them with only the changed fields replaced, so fields
// this package does not model are never dropped.
//
// Every call bounds the answer it reads, honours its context, and retries
// 429 (waiting as Retry-After says, in seconds, fractional seconds, an
// HTTP date, or ARM's millisecond headers; at most 60 s) and 503, and for
// calls that may be repeated also 500, 502, 504 and dropped connections,
// with exponential backoff and jitter, four tries in all. Calls that could
// act twice (Graph comment POSTs, ingestion) are not repeated after an
// ambiguous failure. Refusals come back as *APIError in plain words,
// naming the missing role or permission when a 403 is about one, and the
// container that is missing when a 404 is about the workspace or resource
// group.
//
// Upload splits records into calls of at most 1 MB and gzips bodies over
// 64 KB. PostDataCollector signs each try with the SharedKey scheme over
// the exact Content-Type and length sent and x-ms-date from the injected
// clock.
package sentinel
