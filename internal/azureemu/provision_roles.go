package azureemu

import (
	"slices"
	"strings"

	"github.com/google/uuid"
)

// roleSpec is a role definition as ARM shows it (GUID, name, description)
// together with what the emulator enforces for it.
type roleSpec struct {
	id          string // GUID, the roleDefinitions/{id} name
	name        string
	description string
	def         roleDef
	dataActions []string
	custom      bool
}

func (r roleSpec) permitsData(action string) bool {
	for _, a := range r.dataActions {
		if globMatch(a, action) {
			return true
		}
	}
	return false
}

// builtinRoleInfo gives the built-in roles of rbac.go (and the ones
// provisioning adds below) their real GUIDs and display names, so role
// assignments made over ARM resolve to the same checks the connector's
// calls go through. GUIDs: reference §3.6 and Microsoft's built-in roles
// pages.
var builtinRoleInfo = []struct {
	id, name, description string
}{
	{"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC."},
	{"b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC."},
	{"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", "View all resources, but does not allow you to make any changes."},
	{"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator", "Lets you manage user access to Azure resources."},
	{"f58310d9-a9f6-439a-9e8d-f62e7b41a168", "Role Based Access Control Administrator", "Manage access to Azure resources by assigning roles using Azure RBAC."},
	{"8d289c81-5878-46d4-8554-54e1e3d8b5cb", "Microsoft Sentinel Reader", "Microsoft Sentinel Reader"},
	{"3e150937-b8fe-4cfb-8069-0eaf05ecd056", "Microsoft Sentinel Responder", "Microsoft Sentinel Responder"},
	{"ab8e14d6-4a74-4a29-9ba8-549422addade", "Microsoft Sentinel Contributor", "Microsoft Sentinel Contributor"},
	{"f4c81013-99ee-4d62-a7ee-b3f1f648599a", "Microsoft Sentinel Automation Contributor", "Microsoft Sentinel Automation Contributor"},
	{"51d6186e-6489-4900-b93f-92e23144cca5", "Microsoft Sentinel Playbook Operator", "Microsoft Sentinel Playbook Operator"},
	{"73c42c96-874c-492b-b04d-ab87d138a893", "Log Analytics Reader", "Log Analytics Reader can view and search all monitoring data as well as and view monitoring settings."},
	{"92aaf0da-9dab-42b6-94a3-d43ce8d16293", "Log Analytics Contributor", "Log Analytics Contributor can read all monitoring data and edit monitoring settings."},
	{"3913510d-42f4-4e42-8a64-420c390055eb", "Monitoring Metrics Publisher", "Enables publishing metrics against Azure resources"},
	{"749f88d5-cbae-40b8-bcfc-e573ddc772fa", "Monitoring Contributor", "Can read all monitoring data and update monitoring settings."},
}

// provisionRoles are the built-in roles rbac.go does not define, needed
// to grant access (User Access Administrator, RBAC Administrator), to
// ingest (Monitoring Metrics Publisher, whose right is a data action that
// Owner does not have) and to run playbooks. Action lists follow the
// built-in definitions, shortened to what the emulator's APIs check.
var provisionRoles = map[string]roleSpec{
	"user access administrator": {def: roleDef{actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}}},
	"role based access control administrator": {def: roleDef{actions: []string{
		"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete",
		"*/read", "Microsoft.Support/*"}}},
	"microsoft sentinel automation contributor": {def: roleDef{actions: []string{
		"Microsoft.Authorization/*/read", "Microsoft.Logic/workflows/triggers/read",
		"Microsoft.Logic/workflows/triggers/listCallbackUrl/action", "Microsoft.Logic/workflows/runs/read",
		"Microsoft.Web/sites/hostruntime/webhooks/api/workflows/triggers/read",
		"Microsoft.Web/sites/hostruntime/webhooks/api/workflows/triggers/listCallbackUrl/action",
		"Microsoft.Web/sites/hostruntime/webhooks/api/workflows/runs/read"}}},
	"microsoft sentinel playbook operator": {def: roleDef{actions: []string{
		"Microsoft.Logic/workflows/read", "Microsoft.Logic/workflows/triggers/listCallbackUrl/action",
		"Microsoft.Web/sites/hostruntime/webhooks/api/workflows/triggers/listCallbackUrl/action", "Microsoft.Web/sites/read"}}},
	"monitoring metrics publisher": {
		def:         roleDef{actions: []string{"Microsoft.Insights/Register/Action", "Microsoft.Support/*", "Microsoft.Resources/subscriptions/resourceGroups/read"}},
		dataActions: []string{"Microsoft.Insights/Metrics/Write", "Microsoft.Insights/Telemetry/Write"},
	},
	"monitoring contributor": {def: roleDef{actions: []string{"*/read", "Microsoft.Insights/*", "Microsoft.Support/*"}}},
}

// The data action the Logs Ingestion API authorizes with.
const dataActionTelemetryWrite = "Microsoft.Insights/Telemetry/Write"

// customRoleID is the stable GUID a role added with AddRole is shown
// under (AddRole takes only a name).
func customRoleID(name string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("azureemu-role:"+strings.ToLower(name))).String()
}

// roleByName resolves a role name: custom roles first (AddRole may
// redefine a built-in one, as the existing checks allow), then built-in.
// Caller holds e.mu.
func (s *state) roleByName(name string) (roleSpec, bool) {
	key := strings.ToLower(strings.TrimSpace(name))
	if def, ok := s.roles[key]; ok {
		return roleSpec{id: customRoleID(key), name: name, description: "Custom role", def: def, custom: true}, true
	}
	for _, info := range builtinRoleInfo {
		if strings.EqualFold(info.name, key) {
			return builtinSpec(info.id, info.name, info.description), true
		}
	}
	return roleSpec{}, false
}

// roleByID resolves a role definition GUID. Caller holds e.mu.
func (s *state) roleByID(id string) (roleSpec, bool) {
	for _, info := range builtinRoleInfo {
		if strings.EqualFold(info.id, id) {
			if def, ok := s.roles[strings.ToLower(info.name)]; ok {
				// Redefined with AddRole: enforce what the test defined.
				return roleSpec{id: info.id, name: info.name, description: info.description, def: def}, true
			}
			return builtinSpec(info.id, info.name, info.description), true
		}
	}
	for key, def := range s.roles {
		if strings.EqualFold(customRoleID(key), id) {
			return roleSpec{id: customRoleID(key), name: key, description: "Custom role", def: def, custom: true}, true
		}
	}
	return roleSpec{}, false
}

// allRoles lists every role definition, built-in first. Caller holds e.mu.
func (s *state) allRoles() []roleSpec {
	var out []roleSpec
	for _, info := range builtinRoleInfo {
		r, _ := s.roleByID(info.id)
		out = append(out, r)
	}
	keys := make([]string, 0, len(s.roles))
	for k := range s.roles {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if r, ok := s.roleByName(k); ok && r.custom {
			out = append(out, r)
		}
	}
	return out
}

func builtinSpec(id, name, description string) roleSpec {
	key := strings.ToLower(name)
	r := roleSpec{id: id, name: name, description: description}
	if def, ok := builtinRoles[key]; ok {
		r.def = def
	}
	if extra, ok := provisionRoles[key]; ok {
		r.def, r.dataActions = extra.def, extra.dataActions
	}
	return r
}
