package azuresetup

import (
	"strings"

	"github.com/google/uuid"
)

// Well-known application ids.
const (
	graphAppID = "00000003-0000-0000-c000-000000000000" // Microsoft Graph
	// azureCLIClientID is the public client the admin signs in with: it is
	// pre-consented in every tenant (azidentity's default too).
	azureCLIClientID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
)

// setupTag marks every object this tool makes, so Remove finds exactly
// those.
const setupTag = "lastmile-setup"

// graphPermission is a Microsoft Graph application permission the
// connector may need. The id is the fallback when Graph's own service
// principal cannot be read; the value is what it is resolved by.
type graphPermission struct {
	value, id, why string
}

// graphPermissions per mode: read/write, since the connector writes
// back. Sentinel mode needs none (it works through ARM).
func graphPermissions(mode string) []graphPermission {
	switch mode {
	case ModeGraphIncidents:
		return []graphPermission{{"SecurityIncident.ReadWrite.All", "34bf0e97-1971-4929-b999-9e2442d941d7",
			"read Defender XDR incidents with their alerts, and set status, assignment, classification, tags and comments"}}
	case ModeGraphAlerts:
		return []graphPermission{
			{"SecurityAlert.ReadWrite.All", "ed4fca05-be46-441f-9803-1873825f8fdb",
				"read alerts (alerts_v2), and set status, assignment, classification and comments"},
			{"SecurityIncident.ReadWrite.All", "34bf0e97-1971-4929-b999-9e2442d941d7",
				"set the alerts' incident active or resolved once all its alerts are"},
		}
	case ModeGraphLegacy:
		return []graphPermission{{"SecurityEvents.ReadWrite.All", "d903a879-88e0-4c09-b0c9-82f6a1333f84",
			"read legacy security alerts (/security/alerts), and set status, assignment and feedback"}}
	}
	return nil
}

// securityPermissionValues are the Graph permissions this tool may grant;
// a grant of one the mode no longer needs is removed (least privilege).
func securityPermissionValues() []string {
	return []string{"SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All", "SecurityAlert.Read.All",
		"SecurityAlert.ReadWrite.All", "SecurityEvents.Read.All", "SecurityEvents.ReadWrite.All"}
}

// azureRole is a built-in Azure role (reference §3.6: verified GUIDs).
type azureRole struct {
	name, id string
}

// The roles, by name and GUID. (Constants, so no package state.)
const (
	sentinelResponderID   = "3e150937-b8fe-4cfb-8069-0eaf05ecd056"
	sentinelContributorID = "ab8e14d6-4a74-4a29-9ba8-549422addade"
	logAnalyticsReaderID  = "73c42c96-874c-492b-b04d-ab87d138a893"
	metricsPublisherID    = "3913510d-42f4-4e42-8a64-420c390055eb"
)

func roleSentinelResponder() azureRole {
	return azureRole{"Microsoft Sentinel Responder", sentinelResponderID}
}
func roleSentinelContributor() azureRole {
	return azureRole{"Microsoft Sentinel Contributor", sentinelContributorID}
}
func roleLogAnalyticsReader() azureRole {
	return azureRole{"Log Analytics Reader", logAnalyticsReaderID}
}
func roleMetricsPublisher() azureRole {
	return azureRole{"Monitoring Metrics Publisher", metricsPublisherID}
}

// managedWorkspaceRoles are the roles this tool assigns on a workspace;
// an assignment of one the options no longer ask for is removed.
func managedWorkspaceRoles() []azureRole {
	return []azureRole{roleSentinelResponder(), roleSentinelContributor(), roleLogAnalyticsReader()}
}

// roleDefinitionID is the full id ARM wants in a role assignment.
func roleDefinitionID(subscription string, r azureRole) string {
	return "/subscriptions/" + subscription + "/providers/Microsoft.Authorization/roleDefinitions/" + r.id
}

// assignmentName is a role assignment's deterministic name: a UUID v5 of
// scope, principal and role (the analogue of Bicep's guid()), so a rerun
// finds the assignment it made.
func assignmentName(scope, principalID, roleID string) string {
	ns := uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:lastmile:azure-setup:role-assignment"))
	key := strings.ToLower(strings.TrimRight(scope, "/") + "|" + principalID + "|" + roleID)
	return uuid.NewSHA1(ns, []byte(key)).String()
}

// roleGUID takes the GUID off a role definition id.
func roleGUID(id string) string {
	i := strings.LastIndex(id, "/")
	return strings.ToLower(id[i+1:])
}
