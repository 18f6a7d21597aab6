package azureemu

import (
	"slices"
	"strings"
)

// roleDef is an Azure role definition reduced to what authorization needs.
type roleDef struct {
	actions    []string
	notActions []string
}

// Pseudo-action guarding label changes on incidents. Azure has no such
// action; the emulator uses it so that the Responder role, which may change
// status, owner and comments, gets 403 on labels while Contributor does
// not. The 403 message names the real action (incidents/write).
const actionIncidentLabels = "Microsoft.SecurityInsights/incidents/labels/write"

const (
	actionWorkspaceRead  = "Microsoft.OperationalInsights/workspaces/read"
	actionQueryRead      = "Microsoft.OperationalInsights/workspaces/query/read"
	actionIncidentRead   = "Microsoft.SecurityInsights/incidents/read"
	actionIncidentWrite  = "Microsoft.SecurityInsights/incidents/write"
	actionIncidentDelete = "Microsoft.SecurityInsights/incidents/delete"
	actionAlertsRead     = "Microsoft.SecurityInsights/incidents/alerts/read"
	actionEntitiesRead   = "Microsoft.SecurityInsights/incidents/entities/read"
	actionBookmarksRead  = "Microsoft.SecurityInsights/incidents/bookmarks/read"
	actionCommentRead    = "Microsoft.SecurityInsights/incidents/comments/read"
	actionCommentWrite   = "Microsoft.SecurityInsights/incidents/comments/write"
	actionCommentDelete  = "Microsoft.SecurityInsights/incidents/comments/delete"
)

var workspaceDataRead = []string{
	actionWorkspaceRead,
	"Microsoft.OperationalInsights/workspaces/query/read",
	"Microsoft.OperationalInsights/workspaces/query/*/read",
	"Microsoft.OperationalInsights/workspaces/analytics/query/action",
	"Microsoft.OperationalInsights/workspaces/search/action",
}

// builtinRoles are the built-in roles that matter here, keyed by lower-case
// name. Sentinel roles include Log Analytics read (as in Azure); Log
// Analytics Reader is limited to Microsoft.OperationalInsights so that
// Sentinel incidents need a Sentinel role (Azure's "*/read" would grant
// incident read too; the emulator is stricter on purpose).
var builtinRoles = map[string]roleDef{
	"owner":       {actions: []string{"*"}},
	"contributor": {actions: []string{"*"}, notActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"}},
	"reader":      {actions: []string{"*/read"}},
	"microsoft sentinel contributor": {actions: append([]string{
		"Microsoft.SecurityInsights/*",
	}, workspaceDataRead...)},
	"microsoft sentinel responder": {actions: append([]string{
		"Microsoft.SecurityInsights/*/read",
		actionIncidentWrite,
		actionCommentWrite,
		"Microsoft.SecurityInsights/incidents/tasks/write",
		"Microsoft.SecurityInsights/incidents/tasks/delete",
	}, workspaceDataRead...)},
	"microsoft sentinel reader": {actions: append([]string{
		"Microsoft.SecurityInsights/*/read",
	}, workspaceDataRead...)},
	"log analytics reader": {actions: append([]string{
		"Microsoft.OperationalInsights/*/read",
	}, workspaceDataRead...), notActions: []string{"Microsoft.OperationalInsights/workspaces/sharedKeys/read"}},
	"log analytics contributor": {actions: append([]string{
		"Microsoft.OperationalInsights/*",
	}, workspaceDataRead...)},
}

// AddRole defines a custom role (e.g. the "SIGNL4 Sentinel and Log
// Analytics Access" role) by its actions and notActions; "*" matches any
// run of characters, case-insensitively.
func (e *Emulator) AddRole(name string, actions, notActions []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.roles[strings.ToLower(name)] = roleDef{actions: slices.Clone(actions), notActions: slices.Clone(notActions)}
}

// allowed reports whether app may perform action on resource id. Caller
// holds e.mu.
func (s *state) allowed(app *appRec, action, resource string) bool {
	if app == nil {
		return false
	}
	for scope, names := range app.ARMRoles {
		if !scopeCovers(scope, resource) {
			continue
		}
		for _, n := range names {
			def, ok := s.roles[strings.ToLower(n)]
			if !ok {
				def, ok = builtinRoles[strings.ToLower(n)]
			}
			if ok && def.permits(action) {
				return true
			}
		}
	}
	return false
}

func (d roleDef) permits(action string) bool {
	for _, na := range d.notActions {
		if globMatch(na, action) {
			return false
		}
	}
	for _, a := range d.actions {
		if globMatch(a, action) {
			return true
		}
	}
	return false
}

// scopeCovers reports whether a role assigned at scope applies to resource:
// the same id or an ancestor on a path-segment boundary.
func scopeCovers(scope, resource string) bool {
	s := strings.TrimRight(strings.ToLower(scope), "/")
	r := strings.ToLower(resource)
	if s == "" || s == "/" {
		return true
	}
	return r == s || strings.HasPrefix(r, s+"/")
}

// globMatch matches pattern (with * wildcards) against s, ignoring case.
func globMatch(pattern, s string) bool {
	p, str := strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == str
	}
	if !strings.HasPrefix(str, parts[0]) {
		return false
	}
	str = str[len(parts[0]):]
	for i, part := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(str, part)
		}
		idx := strings.Index(str, part)
		if idx < 0 {
			return false
		}
		str = str[idx+len(part):]
	}
	return true
}
