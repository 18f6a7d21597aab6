package azureemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// resourcesAPIVersions are the Microsoft.Resources api-versions accepted
// for subscriptions and resource groups.
var resourcesAPIVersions = []string{"2025-04-01", "2025-03-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-07-01",
	"2022-12-01", "2022-09-01", "2022-01-01", "2021-04-01", "2021-01-01", "2020-10-01", "2020-06-01", "2020-01-01",
	"2019-11-01", "2019-10-01", "2019-06-01", "2018-06-01", "2016-09-01", "2016-06-01", "2015-11-01"}

// authorizationAPIVersions are the Microsoft.Authorization api-versions
// accepted for role definitions and assignments.
var authorizationAPIVersions = []string{"2022-05-01-preview", "2022-04-01", "2022-01-01-preview", "2021-04-01-preview",
	"2020-10-01-preview", "2020-08-01-preview", "2020-04-01-preview", "2020-03-01-preview", "2018-09-01-preview",
	"2018-07-01", "2018-01-01-preview", "2017-05-01", "2015-07-01"}

const (
	actionRoleAssignmentWrite  = "Microsoft.Authorization/roleAssignments/write"
	actionRoleAssignmentDelete = "Microsoft.Authorization/roleAssignments/delete"
)

// principalTypes are the values ARM accepts for principalType.
var principalTypes = []string{"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"}

// serveProvisionARM answers the ARM calls provisioning makes; false when
// the path is not one of them (the workspace and Sentinel handlers take
// it). The caller is authenticated already.
func (e *Emulator) serveProvisionARM(c *call, p principal) bool {
	segs := strings.Split(strings.Trim(c.r.URL.Path, "/"), "/")
	// The last providers/Microsoft.Authorization splits a scope (which may
	// be any resource id) from role definitions or assignments under it.
	for i := len(segs) - 2; i >= 0; i-- {
		if strings.EqualFold(segs[i], "providers") && strings.EqualFold(segs[i+1], "Microsoft.Authorization") {
			scope := "/" + strings.Join(segs[:i], "/")
			e.serveAuthorization(c, p, scope, segs[i+2:])
			return true
		}
	}
	n := len(segs)
	eq := func(i int, s string) bool { return i < n && strings.EqualFold(segs[i], s) }
	if !eq(0, "subscriptions") {
		return false
	}
	workspaces := eq(4, "providers") && eq(5, "Microsoft.OperationalInsights") && eq(6, "workspaces")
	switch {
	case n == 1:
		e.listSubscriptions(c, p)
	case n == 2:
		e.getSubscription(c, p, segs[1])
	case n == 3 && eq(2, "resourcegroups"):
		e.listResourceGroups(c, p, segs[1])
	case n == 4 && eq(2, "resourcegroups"):
		e.getResourceGroup(c, p, segs[1], segs[3])
	case n == 5 && eq(2, "providers") && eq(3, "Microsoft.OperationalInsights") && eq(4, "workspaces"):
		e.listWorkspaces(c, p, segs[1], "")
	case n == 7 && eq(2, "resourcegroups") && workspaces:
		e.listWorkspaces(c, p, segs[1], segs[3])
	case n >= 9 && eq(2, "resourcegroups") && workspaces && eq(8, "tables"):
		e.serveTables(c, p, segs)
	case n >= 7 && eq(2, "resourcegroups") && eq(4, "providers") && eq(5, "Microsoft.Insights") &&
		(eq(6, "dataCollectionEndpoints") || eq(6, "dataCollectionRules")):
		e.serveDataCollection(c, p, segs)
	case n == 8 && eq(2, "providers") && eq(3, "Microsoft.OperationalInsights") && eq(4, "locations") && eq(6, "operationStatuses"):
		e.operationStatus(c, p, segs[1], segs[7])
	default:
		return false
	}
	return true
}

// armVersion requires an api-version from versions, answering 400 as
// ARM does otherwise.
func (c *call) armVersion(versions []string) bool {
	v := c.r.URL.Query().Get("api-version")
	if v == "" {
		c.cloudError(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return false
	}
	if !slices.Contains(versions, v) {
		c.cloudError(http.StatusBadRequest, "InvalidApiVersionParameter", fmt.Sprintf(
			"The api-version '%s' is invalid. The supported versions are '%s'.", v, strings.Join(versions, ",")))
		return false
	}
	return true
}

// armDenied is ARM's AuthorizationFailed, naming a user by UPN as ARM
// does (an app by its client id).
func (c *call) armDenied(p principal, action, scope string) {
	who := p.claims.AppID
	if p.delegated() && p.claims.UPN != "" {
		who = p.claims.UPN
	}
	c.cloudError(http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf(
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		who, p.claims.OID, action, scope))
}

// armCan checks an action with role assignments included, answering 403
// when refused. Caller holds e.mu.
func (c *call) armCan(p principal, action, scope string) bool {
	if c.e.st.can(p, action, scope) {
		return true
	}
	c.armDenied(p, action, scope)
	return false
}

// readARMObject reads a JSON object body as ARM does.
func (c *call) readARMObject(v any) bool {
	body, err := c.readBody(4 << 20)
	if err != nil {
		c.cloudError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request content is too large.")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		c.cloudError(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '"+err.Error()+"'.")
		return false
	}
	return true
}

// knownSubscriptions merges added subscriptions with those implied by
// workspaces and resource groups. Caller holds e.mu.
func (e *Emulator) knownSubscriptions() []Subscription {
	ps := &e.st.prov
	byID := map[string]Subscription{}
	var order []string
	add := func(id, tenantID string) {
		k := strings.ToLower(id)
		if _, ok := byID[k]; ok {
			return
		}
		s := Subscription{ID: id, TenantID: tenantID, DisplayName: "Subscription " + id[:min(8, len(id))]}
		if x := ps.subs[k]; x != nil {
			s = *x
		}
		byID[k] = s
		order = append(order, k)
	}
	for _, s := range ps.subs {
		add(s.ID, s.TenantID)
	}
	for _, w := range e.st.workspaces {
		add(w.SubscriptionID, w.TenantID)
	}
	for _, g := range ps.rgs {
		add(g.SubscriptionID, "")
	}
	slices.Sort(order)
	out := make([]Subscription, 0, len(order))
	for _, k := range order {
		out = append(out, byID[k])
	}
	return out
}

func (e *Emulator) subscription(id string) (Subscription, bool) {
	for _, s := range e.knownSubscriptions() {
		if strings.EqualFold(s.ID, id) {
			return s, true
		}
	}
	return Subscription{}, false
}

// knownResourceGroups lists a subscription's resource groups: added ones
// and those of workspaces. Caller holds e.mu.
func (e *Emulator) knownResourceGroups(sub string) []ResourceGroup {
	byName := map[string]ResourceGroup{}
	for _, g := range e.st.prov.rgs {
		if strings.EqualFold(g.SubscriptionID, sub) {
			byName[strings.ToLower(g.Name)] = *g
		}
	}
	for _, w := range e.st.workspaces {
		if strings.EqualFold(w.SubscriptionID, sub) {
			if _, ok := byName[strings.ToLower(w.ResourceGroup)]; !ok {
				byName[strings.ToLower(w.ResourceGroup)] = ResourceGroup{SubscriptionID: w.SubscriptionID, Name: w.ResourceGroup, Location: w.Location}
			}
		}
	}
	out := make([]ResourceGroup, 0, len(byName))
	for _, g := range byName {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b ResourceGroup) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out
}

func (e *Emulator) resourceGroup(sub, name string) (ResourceGroup, bool) {
	for _, g := range e.knownResourceGroups(sub) {
		if strings.EqualFold(g.Name, name) {
			return g, true
		}
	}
	return ResourceGroup{}, false
}

func subscriptionJSON(s Subscription, tenantID string) map[string]any {
	if s.TenantID != "" {
		tenantID = s.TenantID
	}
	return map[string]any{
		"id": "/subscriptions/" + s.ID, "authorizationSource": "RoleBased", "managedByTenants": []any{},
		"subscriptionId": s.ID, "tenantId": tenantID, "displayName": s.DisplayName, "state": "Enabled",
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
		"tags":                 map[string]any{},
	}
}

// visibleSubscription reports whether a caller sees a subscription: same
// tenant (when the subscription has one) and some role in it. Caller
// holds e.mu.
func (e *Emulator) visibleSubscription(p principal, s Subscription) bool {
	if s.TenantID != "" && !strings.EqualFold(s.TenantID, p.claims.Tid) {
		return false
	}
	return e.st.seesScope(p, "/subscriptions/"+s.ID)
}

// listSubscriptions is GET /subscriptions: the subscriptions the caller
// has a role in.
func (e *Emulator) listSubscriptions(c *call, p principal) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if !c.armVersion(resourcesAPIVersions) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	value := []any{}
	for _, s := range e.knownSubscriptions() {
		if e.visibleSubscription(p, s) {
			value = append(value, subscriptionJSON(s, p.claims.Tid))
		}
	}
	c.json(http.StatusOK, map[string]any{"value": value, "count": map[string]any{"type": "Total", "value": len(value)}})
}

func (e *Emulator) getSubscription(c *call, p principal, id string) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if !c.armVersion(resourcesAPIVersions) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.subscription(id)
	if !ok || !e.visibleSubscription(p, s) {
		c.cloudError(http.StatusNotFound, "SubscriptionNotFound", "The subscription '"+id+"' could not be found.")
		return
	}
	c.json(http.StatusOK, subscriptionJSON(s, p.claims.Tid))
}

// subscriptionFor answers 404 for an unknown subscription and 403 for
// one the caller has no role in. Caller holds e.mu.
func (c *call) subscriptionFor(p principal, id, action string) (Subscription, bool) {
	s, ok := c.e.subscription(id)
	if !ok || (s.TenantID != "" && !strings.EqualFold(s.TenantID, p.claims.Tid)) {
		c.cloudError(http.StatusNotFound, "SubscriptionNotFound", "The subscription '"+id+"' could not be found.")
		return Subscription{}, false
	}
	if !c.e.st.seesScope(p, "/subscriptions/"+s.ID) {
		c.armDenied(p, action, "/subscriptions/"+id)
		return Subscription{}, false
	}
	return s, true
}

func rgID(g ResourceGroup) string {
	return "/subscriptions/" + g.SubscriptionID + "/resourceGroups/" + g.Name
}

func rgJSON(g ResourceGroup) map[string]any {
	return map[string]any{"id": rgID(g), "name": g.Name, "type": "Microsoft.Resources/resourceGroups",
		"location": g.Location, "properties": map[string]any{"provisioningState": "Succeeded"}}
}

const actionRGRead = "Microsoft.Resources/subscriptions/resourceGroups/read"

// listResourceGroups is GET /subscriptions/{s}/resourcegroups: the groups
// the caller has a role at, above or in.
func (e *Emulator) listResourceGroups(c *call, p principal, sub string) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if !c.armVersion(resourcesAPIVersions) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := c.subscriptionFor(p, sub, actionRGRead); !ok {
		return
	}
	value := []any{}
	for _, g := range e.knownResourceGroups(sub) {
		if e.st.seesScope(p, rgID(g)) {
			value = append(value, rgJSON(g))
		}
	}
	c.json(http.StatusOK, map[string]any{"value": value})
}

func (e *Emulator) getResourceGroup(c *call, p principal, sub, name string) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if !c.armVersion(resourcesAPIVersions) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := c.subscriptionFor(p, sub, actionRGRead); !ok {
		return
	}
	g, ok := e.resourceGroup(sub, name)
	if !ok {
		c.cloudError(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '"+name+"' could not be found.")
		return
	}
	if !e.st.seesScope(p, rgID(g)) {
		c.armDenied(p, actionRGRead, rgID(g))
		return
	}
	c.json(http.StatusOK, rgJSON(g))
}

func workspaceJSON(w *Workspace) map[string]any {
	return map[string]any{
		"id": w.ResourceID(), "name": w.Name, "type": "Microsoft.OperationalInsights/workspaces", "location": w.Location,
		"properties": map[string]any{
			"customerId": w.WorkspaceID, "provisioningState": "Succeeded", "sku": map[string]any{"name": "PerGB2018"},
			"retentionInDays": 90, "publicNetworkAccessForQuery": "Enabled", "publicNetworkAccessForIngestion": "Enabled",
		},
	}
}

// listWorkspaces lists the Log Analytics workspaces of a subscription (or
// one of its resource groups) the caller may read.
func (e *Emulator) listWorkspaces(c *call, p principal, sub, rg string) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if !c.armVersion(workspaceAPIVersions) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := c.subscriptionFor(p, sub, actionWorkspaceRead); !ok {
		return
	}
	if rg != "" {
		if _, ok := e.resourceGroup(sub, rg); !ok {
			c.cloudError(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '"+rg+"' could not be found.")
			return
		}
	}
	value := []any{}
	for _, w := range e.st.workspaces {
		if !strings.EqualFold(w.SubscriptionID, sub) || (rg != "" && !strings.EqualFold(w.ResourceGroup, rg)) {
			continue
		}
		if e.st.can(p, actionWorkspaceRead, w.ResourceID()) {
			value = append(value, workspaceJSON(w))
		}
	}
	c.json(http.StatusOK, map[string]any{"value": value})
}

// scopeExists answers 404 (or 400 for a malformed scope) unless scope
// names a known subscription, resource group or resource. Resource types
// the emulator does not model (a Logic App, say) are taken on trust.
// Caller holds e.mu.
func (c *call) scopeExists(scope string) bool {
	if scope == "/" {
		return true
	}
	segs := strings.Split(strings.Trim(scope, "/"), "/")
	n := len(segs)
	if n < 2 || !strings.EqualFold(segs[0], "subscriptions") || (n > 2 && !strings.EqualFold(segs[2], "resourceGroups")) ||
		n == 3 || (n > 4 && (n < 8 || !strings.EqualFold(segs[4], "providers"))) || slices.Contains(segs, "") {
		c.cloudError(http.StatusBadRequest, "InvalidScope", "The scope '"+scope+"' is not valid.")
		return false
	}
	if _, ok := c.e.subscription(segs[1]); !ok {
		c.cloudError(http.StatusNotFound, "SubscriptionNotFound", "The subscription '"+segs[1]+"' could not be found.")
		return false
	}
	if n == 2 {
		return true
	}
	if _, ok := c.e.resourceGroup(segs[1], segs[3]); !ok {
		c.cloudError(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '"+segs[3]+"' could not be found.")
		return false
	}
	if n == 4 {
		return true
	}
	ns, typ, name := segs[5], segs[6], segs[7]
	found := true
	switch {
	case strings.EqualFold(ns, "Microsoft.OperationalInsights") && strings.EqualFold(typ, "workspaces"):
		found = c.e.workspaceAt(segs[1], segs[3], name) != nil
	case strings.EqualFold(ns, "Microsoft.Insights") && strings.EqualFold(typ, "dataCollectionRules"):
		found = c.e.st.prov.dcrs[strings.ToLower("/"+strings.Join(segs[:8], "/"))] != nil
	case strings.EqualFold(ns, "Microsoft.Insights") && strings.EqualFold(typ, "dataCollectionEndpoints"):
		found = c.e.st.prov.dces[strings.ToLower("/"+strings.Join(segs[:8], "/"))] != nil
	}
	if !found {
		c.cloudError(http.StatusNotFound, "ResourceNotFound", "The Resource '"+ns+"/"+typ+"/"+name+"' under resource group '"+segs[3]+
			"' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
		return false
	}
	return true
}

// workspaceAt finds a workspace by its ARM coordinates. Caller holds e.mu.
func (e *Emulator) workspaceAt(sub, rg, name string) *Workspace {
	for _, w := range e.st.workspaces {
		if strings.EqualFold(w.SubscriptionID, sub) && strings.EqualFold(w.ResourceGroup, rg) && strings.EqualFold(w.Name, name) {
			return w
		}
	}
	return nil
}

// serveAuthorization is {scope}/providers/Microsoft.Authorization/...:
// role definitions (read) and role assignments.
func (e *Emulator) serveAuthorization(c *call, p principal, scope string, rest []string) {
	if !c.armVersion(authorizationAPIVersions) {
		return
	}
	switch {
	case len(rest) == 1 && strings.EqualFold(rest[0], "roleDefinitions"):
		e.listRoleDefinitions(c, scope)
	case len(rest) == 2 && strings.EqualFold(rest[0], "roleDefinitions"):
		e.getRoleDefinition(c, scope, rest[1])
	case len(rest) == 1 && strings.EqualFold(rest[0], "roleAssignments"):
		e.listRoleAssignments(c, scope)
	case len(rest) == 2 && strings.EqualFold(rest[0], "roleAssignments"):
		switch c.r.Method {
		case http.MethodPut:
			e.putRoleAssignment(c, p, scope, rest[1])
		case http.MethodGet:
			e.getRoleAssignment(c, scope, rest[1])
		case http.MethodDelete:
			e.deleteRoleAssignment(c, p, scope, rest[1])
		default:
			c.methodNotAllowed()
		}
	default:
		c.cloudError(http.StatusNotFound, "InvalidResourceType", "The resource type 'Microsoft.Authorization/"+strings.Join(rest, "/")+"' could not be found in the emulator.")
	}
}

// subPrefix is "/subscriptions/{s}" for a scope inside a subscription, so
// role definition ids read as ARM writes them; "" otherwise.
func subPrefix(scope string) string {
	segs := strings.Split(strings.Trim(scope, "/"), "/")
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		return "/subscriptions/" + segs[1]
	}
	return ""
}

func roleDefJSON(prefix string, r roleSpec) map[string]any {
	typ := "BuiltInRole"
	if r.custom {
		typ = "CustomRole"
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return map[string]any{
		"id": prefix + "/providers/Microsoft.Authorization/roleDefinitions/" + r.id, "name": r.id,
		"type": "Microsoft.Authorization/roleDefinitions",
		"properties": map[string]any{
			"roleName": r.name, "type": typ, "description": r.description, "assignableScopes": []string{"/"},
			"permissions": []any{map[string]any{
				"actions": nonNil(r.def.actions), "notActions": nonNil(r.def.notActions),
				"dataActions": nonNil(r.dataActions), "notDataActions": []string{},
			}},
			"createdOn": "2015-02-02T21:55:09.8806423Z", "updatedOn": "2024-01-01T00:00:00.0000000Z",
			"createdBy": nil, "updatedBy": nil,
		},
	}
}

// listRoleDefinitions answers $filter=roleName eq '…' and type eq
// 'BuiltInRole'|'CustomRole' (or no filter).
func (e *Emulator) listRoleDefinitions(c *call, scope string) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	match := func(roleSpec) bool { return true }
	if f, _ := queryGet(c.r.URL.Query(), "$filter"); strings.TrimSpace(f) != "" {
		prop, val, ok := parseEqFilter(f)
		switch {
		case ok && strings.EqualFold(prop, "roleName"):
			match = func(r roleSpec) bool { return strings.EqualFold(r.name, val) }
		case ok && strings.EqualFold(prop, "type"):
			match = func(r roleSpec) bool { return r.custom == strings.EqualFold(val, "CustomRole") }
		default:
			c.cloudError(http.StatusBadRequest, "UnsupportedQuery", "The $filter '"+f+"' is not supported. Use roleName eq '{name}' or type eq 'BuiltInRole'.")
			return
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !c.scopeExists(scope) {
		return
	}
	value := []any{}
	for _, r := range e.st.allRoles() {
		if match(r) {
			value = append(value, roleDefJSON(subPrefix(scope), r))
		}
	}
	c.json(http.StatusOK, map[string]any{"value": value})
}

func (e *Emulator) getRoleDefinition(c *call, scope, id string) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !c.scopeExists(scope) {
		return
	}
	r, ok := e.st.roleByID(id)
	if !ok {
		c.cloudError(http.StatusNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '"+id+"' does not exist.")
		return
	}
	c.json(http.StatusOK, roleDefJSON(subPrefix(scope), r))
}

// parseEqFilter reads "prop eq 'value'" (a doubled quote stands for one).
func parseEqFilter(f string) (prop, val string, ok bool) {
	f = strings.TrimSpace(f)
	i := strings.Index(strings.ToLower(f), " eq ")
	if i <= 0 {
		return "", "", false
	}
	prop, lit := strings.TrimSpace(f[:i]), strings.TrimSpace(f[i+4:])
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return "", "", false
	}
	return prop, strings.ReplaceAll(lit[1:len(lit)-1], "''", "'"), true
}

func assignmentID(a *roleAssignment) string {
	return strings.TrimRight(a.scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + a.name
}

const armTimeLayout = "2006-01-02T15:04:05.0000000Z"

func assignmentJSON(a *roleAssignment) map[string]any {
	created := a.created.UTC().Format(armTimeLayout)
	return map[string]any{
		"id": assignmentID(a), "type": "Microsoft.Authorization/roleAssignments", "name": a.name,
		"properties": map[string]any{
			"roleDefinitionId": subPrefix(a.scope) + "/providers/Microsoft.Authorization/roleDefinitions/" + a.roleID,
			"principalId":      a.principalID, "principalType": a.principalType, "scope": a.scope,
			"condition": nil, "conditionVersion": nil, "description": nil, "delegatedManagedIdentityResourceId": nil,
			"createdOn": created, "updatedOn": created, "createdBy": a.createdBy, "updatedBy": a.createdBy,
		},
	}
}

// roleAssignmentBody is the PUT body of a role assignment.
type roleAssignmentBody struct {
	Properties *struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
	} `json:"properties"`
}

// putRoleAssignment creates a role assignment, with ARM's checks: the
// caller's roleAssignments/write at the scope, a GUID name, an existing
// role, a principal the directory knows (unless principalType is given,
// which skips the lookup, as ARM does during replication), immutable
// properties, and one assignment per principal, role and scope.
func (e *Emulator) putRoleAssignment(c *call, p principal, scope, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	full := strings.TrimRight(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + name
	if !c.scopeExists(scope) || !c.armCan(p, actionRoleAssignmentWrite, full) {
		return
	}
	if _, err := uuid.Parse(name); err != nil {
		c.cloudError(http.StatusBadRequest, "InvalidRoleAssignmentId", "The role assignment ID '"+name+"' is not valid. The role assignment ID must be a GUID.")
		return
	}
	var body roleAssignmentBody
	if !c.readARMObject(&body) {
		return
	}
	if body.Properties == nil {
		c.cloudError(http.StatusBadRequest, "InvalidRequestContent", "The request content is missing the 'properties' object.")
		return
	}
	props := body.Properties
	roleID, ok := roleGUID(props.RoleDefinitionID)
	if !ok {
		c.cloudError(http.StatusBadRequest, "InvalidRoleDefinitionId", "The role definition ID '"+props.RoleDefinitionID+"' is not valid.")
		return
	}
	role, ok := e.st.roleByID(roleID)
	if !ok {
		c.cloudError(http.StatusBadRequest, "RoleDefinitionDoesNotExist", "The specified role definition with ID '"+roleID+"' does not exist.")
		return
	}
	if _, err := uuid.Parse(props.PrincipalID); err != nil {
		c.cloudError(http.StatusBadRequest, "InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
		return
	}
	ptype := props.PrincipalType
	if ptype != "" {
		canon, found := canonical(ptype, principalTypes)
		if !found {
			c.cloudError(http.StatusBadRequest, "InvalidPrincipalType", "The principal type '"+ptype+"' is not valid. Allowed values: "+strings.Join(principalTypes, ", ")+".")
			return
		}
		ptype = canon
	}
	kind, created, exists := e.principalKind(p.claims.Tid, props.PrincipalID)
	switch {
	case ptype == "" && (!exists || e.young(created)):
		c.cloudError(http.StatusBadRequest, "PrincipalNotFound", fmt.Sprintf(
			"Principal %s does not exist in the directory %s. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
			strings.ReplaceAll(props.PrincipalID, "-", ""), p.claims.Tid))
		return
	case ptype == "":
		ptype = kind
	case exists && !e.young(created) && kind != ptype:
		c.cloudError(http.StatusBadRequest, "UnmatchedPrincipalType", fmt.Sprintf(
			"The PrincipalId '%s' has type '%s' , which is different from specified PrincipalType '%s'.",
			strings.ReplaceAll(props.PrincipalID, "-", ""), kind, ptype))
		return
	}
	ps := &e.st.prov
	if old := ps.assignments[strings.ToLower(name)]; old != nil {
		if !strings.EqualFold(old.scope, scope) || !strings.EqualFold(old.principalID, props.PrincipalID) || !strings.EqualFold(old.roleID, role.id) {
			c.cloudError(http.StatusBadRequest, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
			return
		}
		c.json(http.StatusOK, assignmentJSON(old))
		return
	}
	for _, a := range ps.assignments {
		if strings.EqualFold(a.scope, scope) && strings.EqualFold(a.principalID, props.PrincipalID) && strings.EqualFold(a.roleID, role.id) {
			c.cloudError(http.StatusConflict, "RoleAssignmentExists",
				"The role assignment already exists. The ID of the existing role assignment is "+strings.ReplaceAll(a.name, "-", "")+".")
			return
		}
	}
	a := &roleAssignment{name: strings.ToLower(name), scope: scope, roleID: role.id, principalID: strings.ToLower(props.PrincipalID),
		principalType: ptype, created: e.now(), createdBy: p.claims.OID}
	ps.addAssignment(a)
	c.json(http.StatusCreated, assignmentJSON(a))
}

// roleGUID takes the GUID out of a role definition id
// (.../providers/Microsoft.Authorization/roleDefinitions/{guid}).
func roleGUID(id string) (string, bool) {
	const marker = "/providers/microsoft.authorization/roledefinitions/"
	i := strings.LastIndex(strings.ToLower(id), marker)
	if i < 0 {
		return "", false
	}
	g := id[i+len(marker):]
	if _, err := uuid.Parse(g); err != nil {
		return "", false
	}
	return strings.ToLower(g), true
}

func (e *Emulator) getRoleAssignment(c *call, scope, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !c.scopeExists(scope) {
		return
	}
	a := e.st.prov.assignments[strings.ToLower(name)]
	if a == nil || !strings.EqualFold(a.scope, scope) {
		c.cloudError(http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '"+name+"' is not found.")
		return
	}
	c.json(http.StatusOK, assignmentJSON(a))
}

// deleteRoleAssignment answers 200 with the removed assignment, or 204
// when there was none, as ARM does.
func (e *Emulator) deleteRoleAssignment(c *call, p principal, scope, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	full := strings.TrimRight(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + name
	if !c.scopeExists(scope) || !c.armCan(p, actionRoleAssignmentDelete, full) {
		return
	}
	a := e.st.prov.assignments[strings.ToLower(name)]
	if a == nil || !strings.EqualFold(a.scope, scope) {
		c.empty(http.StatusNoContent)
		return
	}
	delete(e.st.prov.assignments, strings.ToLower(name))
	c.json(http.StatusOK, assignmentJSON(a))
}

// listRoleAssignments lists the assignments at, above and below scope
// (atScope(): at and above only), optionally for one principal
// (principalId eq '…' or assignedTo('…')).
func (e *Emulator) listRoleAssignments(c *call, scope string) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	atScope, principal := false, ""
	if f, _ := queryGet(c.r.URL.Query(), "$filter"); strings.TrimSpace(f) != "" {
		for _, cond := range splitAnd(f) {
			lc := strings.ToLower(cond)
			switch {
			case lc == "atscope()":
				atScope = true
			case strings.HasPrefix(lc, "assignedto('") && strings.HasSuffix(lc, "')"):
				principal = cond[len("assignedTo('") : len(cond)-2]
			default:
				prop, val, ok := parseEqFilter(cond)
				if !ok || !strings.EqualFold(prop, "principalId") {
					c.cloudError(http.StatusBadRequest, "UnsupportedQuery", "The $filter '"+f+"' is not supported. Use atScope(), principalId eq '{id}' or assignedTo('{id}').")
					return
				}
				principal = val
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !c.scopeExists(scope) {
		return
	}
	value := []any{}
	for _, a := range e.st.prov.sortedAssignments() {
		if principal != "" && !strings.EqualFold(a.principalID, principal) {
			continue
		}
		if scopeCovers(a.scope, scope) || (!atScope && scopeCovers(scope, a.scope)) {
			value = append(value, assignmentJSON(a))
		}
	}
	c.json(http.StatusOK, map[string]any{"value": value})
}

// splitAnd splits an OData filter on " and " (any case).
func splitAnd(f string) []string {
	var out []string
	rest := f
	for {
		i := strings.Index(strings.ToLower(rest), " and ")
		if i < 0 {
			out = append(out, strings.TrimSpace(rest))
			return out
		}
		out = append(out, strings.TrimSpace(rest[:i]))
		rest = rest[i+5:]
	}
}
