package azureemu

import (
	"net/http"
	"strings"
	"testing"
)

func TestARMListings(t *testing.T) {
	v := provEnv(t)
	otherSub := "5a3b1f00-0000-4000-8000-00000000000b"
	if err := v.emu.AddSubscription(Subscription{ID: otherSub, TenantID: testTenant, DisplayName: "Playbooks"}); err != nil {
		t.Fatal(err)
	}
	if err := v.emu.AddResourceGroup(ResourceGroup{SubscriptionID: otherSub, Name: "rg-playbooks", Location: "westeurope"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.emu.AddWorkspace(Workspace{SubscriptionID: testSub, ResourceGroup: "rg-other", Name: "ws-other"}); err != nil {
		t.Fatal(err)
	}
	_, arm := v.adminTokens(t, adminUPN)

	st, subs := v.call(t, http.MethodGet, "/subscriptions?api-version=2022-12-01", arm, nil)
	if st != 200 || len(subs["value"].([]any)) != 1 {
		t.Fatalf("subscriptions (Owner on one): %d %v", st, subs)
	}
	if s := subs["value"].([]any)[0].(map[string]any); s["subscriptionId"] != testSub || s["tenantId"] != testTenant || s["state"] != "Enabled" {
		t.Fatalf("subscription %v", s)
	}
	if err := v.emu.GrantUserARMRole(testTenant, adminUPN, "/subscriptions/"+otherSub+"/resourceGroups/rg-playbooks", "Contributor"); err != nil {
		t.Fatal(err)
	}
	if _, subs = v.call(t, http.MethodGet, "/subscriptions?api-version=2022-12-01", arm, nil); len(subs["value"].([]any)) != 2 {
		t.Fatalf("a role on a resource group shows its subscription: %v", subs)
	}
	st, rgs := v.call(t, http.MethodGet, "/subscriptions/"+testSub+"/resourcegroups?api-version=2021-04-01", arm, nil)
	if st != 200 || len(rgs["value"].([]any)) != 2 {
		t.Fatalf("resource groups: %d %v", st, rgs)
	}
	st, wss := v.call(t, http.MethodGet, "/subscriptions/"+testSub+"/providers/Microsoft.OperationalInsights/workspaces?api-version=2022-10-01", arm, nil)
	if st != 200 || len(wss["value"].([]any)) != 2 {
		t.Fatalf("workspaces: %d %v", st, wss)
	}
	found := false
	for _, w := range wss["value"].([]any) {
		w := w.(map[string]any)
		if w["id"] == wsPath() && w["properties"].(map[string]any)["customerId"] == testWSID && w["location"] == "westeurope" {
			found = true
		}
	}
	if !found {
		t.Fatalf("workspace with customerId missing: %v", wss)
	}
	if st, one := v.call(t, http.MethodGet, "/subscriptions/"+testSub+"/resourceGroups/"+testRG+"/providers/Microsoft.OperationalInsights/workspaces?api-version=2022-10-01", arm, nil); st != 200 || len(one["value"].([]any)) != 1 {
		t.Fatalf("workspaces in a resource group: %d %v", st, one)
	}
	// The existing workspace GET works with the user's token too.
	if st, w := v.call(t, http.MethodGet, wsPath()+"?api-version=2022-10-01", arm, nil); st != 200 {
		t.Fatalf("workspace GET as the admin: %d %v", st, w)
	}

	// A user with a role on one workspace sees only that.
	v.user(t, "analyst@contoso.com")
	if err := v.emu.GrantUserARMRole(testTenant, "analyst@contoso.com", wsPath(), "Microsoft Sentinel Reader"); err != nil {
		t.Fatal(err)
	}
	_, analyst := v.adminTokens(t, "analyst@contoso.com")
	if _, rgs := v.call(t, http.MethodGet, "/subscriptions/"+testSub+"/resourcegroups?api-version=2021-04-01", analyst, nil); len(rgs["value"].([]any)) != 1 {
		t.Fatalf("analyst's resource groups: %v", rgs)
	}
	if _, wss := v.call(t, http.MethodGet, "/subscriptions/"+testSub+"/providers/Microsoft.OperationalInsights/workspaces?api-version=2022-10-01", analyst, nil); len(wss["value"].([]any)) != 1 {
		t.Fatalf("analyst's workspaces: %v", wss)
	}
	if st, body := v.call(t, http.MethodGet, "/subscriptions/"+otherSub+"/resourcegroups?api-version=2021-04-01", analyst, nil); st != 403 {
		t.Fatalf("a subscription without roles: %d %v", st, body)
	}

	for _, tc := range []struct {
		path, code string
		status     int
	}{
		{"/subscriptions", "MissingApiVersionParameter", 400},
		{"/subscriptions?api-version=1999-01-01", "InvalidApiVersionParameter", 400},
		{"/subscriptions/" + testSub + "/resourcegroups", "MissingApiVersionParameter", 400},
		{"/subscriptions/00000000-0000-0000-0000-000000000009/resourcegroups?api-version=2021-04-01", "SubscriptionNotFound", 404},
		{"/subscriptions/" + testSub + "/resourceGroups/nope/providers/Microsoft.OperationalInsights/workspaces?api-version=2022-10-01", "ResourceGroupNotFound", 404},
		{subScope + "/providers/Microsoft.Authorization/roleAssignments", "MissingApiVersionParameter", 400},
	} {
		st, body := v.call(t, http.MethodGet, tc.path, arm, nil)
		if code, _ := errOf(body); st != tc.status || code != tc.code {
			t.Errorf("%s: %d %v", tc.path, st, body)
		}
	}
}

func TestARMRoleDefinitions(t *testing.T) {
	v := provEnv(t)
	_, arm := v.adminTokens(t, adminUPN)
	st, defs := v.call(t, http.MethodGet, wsPath()+"/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName+eq+'Microsoft Sentinel Responder'&api-version=2022-04-01", arm, nil)
	if st != 200 || len(defs["value"].([]any)) != 1 {
		t.Fatalf("by name: %d %v", st, defs)
	}
	d := defs["value"].([]any)[0].(map[string]any)
	if d["name"] != responderRole || d["id"] != subScope+"/providers/Microsoft.Authorization/roleDefinitions/"+responderRole ||
		d["properties"].(map[string]any)["type"] != "BuiltInRole" {
		t.Fatalf("responder definition %v", d)
	}
	for name, id := range map[string]string{
		"Monitoring Metrics Publisher": publisherRole, "Microsoft Sentinel Contributor": "ab8e14d6-4a74-4a29-9ba8-549422addade",
		"Microsoft Sentinel Reader": "8d289c81-5878-46d4-8554-54e1e3d8b5cb", "Log Analytics Reader": "73c42c96-874c-492b-b04d-ab87d138a893",
		"Microsoft Sentinel Automation Contributor": "f4c81013-99ee-4d62-a7ee-b3f1f648599a", "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
		"User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
	} {
		_, defs := v.call(t, http.MethodGet, "/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName eq '"+name+"'&api-version=2022-04-01", arm, nil)
		if vals := defs["value"].([]any); len(vals) != 1 || vals[0].(map[string]any)["name"] != id {
			t.Errorf("%s: %v", name, defs)
		}
	}
	st, pub := v.call(t, http.MethodGet, subScope+"/providers/Microsoft.Authorization/roleDefinitions/"+publisherRole+rbacAPI, arm, nil)
	perms := pub["properties"].(map[string]any)["permissions"].([]any)[0].(map[string]any)
	if st != 200 || !strings.Contains(strings.Join(anyStrings(perms["dataActions"]), ","), "Microsoft.Insights/Telemetry/Write") {
		t.Fatalf("publisher by id: %d %v", st, pub)
	}
	if st, body := v.call(t, http.MethodGet, subScope+"/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000001"+rbacAPI, arm, nil); st != 404 {
		t.Fatalf("unknown id: %d %v", st, body)
	}
	v.emu.AddRole("Lastmile Sentinel Connector", []string{"Microsoft.SecurityInsights/incidents/read"}, nil)
	_, custom := v.call(t, http.MethodGet, subScope+"/providers/Microsoft.Authorization/roleDefinitions?$filter=type+eq+'CustomRole'&api-version=2022-04-01", arm, nil)
	if vals := custom["value"].([]any); len(vals) != 1 || vals[0].(map[string]any)["properties"].(map[string]any)["type"] != "CustomRole" {
		t.Fatalf("custom roles: %v", custom)
	}
	if st, body := v.call(t, http.MethodGet, subScope+"/providers/Microsoft.Authorization/roleDefinitions?$filter=description+eq+'x'&api-version=2022-04-01", arm, nil); st != 400 {
		t.Fatalf("unsupported filter: %d %v", st, body)
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestARMRoleAssignments(t *testing.T) {
	v := provEnv(t)
	graphTok, arm := v.adminTokens(t, adminUPN)
	p := v.provision(t, graphTok, "connector")
	const name = "0b5c7a1e-1111-4111-8111-000000000001"

	st, a := v.assign(t, arm, wsPath(), name, responderRole, p.spID, "ServicePrincipal")
	if st != 201 {
		t.Fatalf("create: %d %v", st, a)
	}
	props := a["properties"].(map[string]any)
	if a["id"] != wsPath()+"/providers/Microsoft.Authorization/roleAssignments/"+name || props["scope"] != wsPath() ||
		props["roleDefinitionId"] != subScope+"/providers/Microsoft.Authorization/roleDefinitions/"+responderRole || props["principalType"] != "ServicePrincipal" {
		t.Fatalf("assignment %v", a)
	}
	if st, _ := v.assign(t, arm, wsPath(), name, responderRole, p.spID, "ServicePrincipal"); st != 200 {
		t.Fatalf("identical PUT: %d", st)
	}
	st, body := v.assign(t, arm, wsPath(), "0b5c7a1e-1111-4111-8111-000000000002", responderRole, p.spID, "ServicePrincipal")
	if code, msg := errOf(body); st != 409 || code != "RoleAssignmentExists" || !strings.Contains(msg, strings.ReplaceAll(name, "-", "")) {
		t.Fatalf("same principal, role, scope under another name: %d %v", st, body)
	}
	st, body = v.assign(t, arm, wsPath(), name, "8d289c81-5878-46d4-8554-54e1e3d8b5cb", p.spID, "ServicePrincipal")
	if code, _ := errOf(body); st != 400 || code != "RoleAssignmentUpdateNotPermitted" {
		t.Fatalf("changing the role under the same name: %d %v", st, body)
	}

	var admin string
	for _, ra := range v.emu.RoleAssignments() {
		if ra.PrincipalType == "User" {
			admin = ra.PrincipalID
		}
	}
	cases := []struct {
		name, scope, assignName, role, principal, ptype, code string
		status                                                int
	}{
		{"name not a GUID", wsPath(), "responder", responderRole, p.spID, "ServicePrincipal", "InvalidRoleAssignmentId", 400},
		{"unknown role", wsPath(), "0b5c7a1e-1111-4111-8111-000000000003", "00000000-0000-0000-0000-0000000000ff", p.spID, "ServicePrincipal", "RoleDefinitionDoesNotExist", 400},
		{"unknown principal", wsPath(), "0b5c7a1e-1111-4111-8111-000000000004", responderRole, "0e0e0e0e-0000-4000-8000-000000000000", "", "PrincipalNotFound", 400},
		{"principal type mismatch", wsPath(), "0b5c7a1e-1111-4111-8111-000000000005", responderRole, admin, "ServicePrincipal", "UnmatchedPrincipalType", 400},
		{"bad principal type", wsPath(), "0b5c7a1e-1111-4111-8111-000000000006", responderRole, p.spID, "Robot", "InvalidPrincipalType", 400},
		{"missing workspace", subScope + "/resourceGroups/" + testRG + "/providers/Microsoft.OperationalInsights/workspaces/nope", "0b5c7a1e-1111-4111-8111-000000000007", responderRole, p.spID, "ServicePrincipal", "ResourceNotFound", 404},
		{"missing resource group", subScope + "/resourceGroups/nope", "0b5c7a1e-1111-4111-8111-000000000008", responderRole, p.spID, "ServicePrincipal", "ResourceGroupNotFound", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := v.assign(t, arm, tc.scope, tc.assignName, tc.role, tc.principal, tc.ptype)
			if code, _ := errOf(body); st != tc.status || code != tc.code {
				t.Fatalf("got %d %v", st, body)
			}
		})
	}
	// With principalType, ARM skips the directory lookup (orphans allowed).
	if st, body := v.assign(t, arm, wsPath(), "0b5c7a1e-1111-4111-8111-000000000009", responderRole, "0e0e0e0e-0000-4000-8000-000000000000", "ServicePrincipal"); st != 201 {
		t.Fatalf("unknown principal with principalType: %d %v", st, body)
	}

	// Contributor cannot grant access; User Access Administrator can.
	v.user(t, "contrib@contoso.com")
	if err := v.emu.GrantUserARMRole(testTenant, "contrib@contoso.com", subScope, "Contributor"); err != nil {
		t.Fatal(err)
	}
	_, contrib := v.adminTokens(t, "contrib@contoso.com")
	st, body = v.assign(t, contrib, wsPath(), "0b5c7a1e-1111-4111-8111-00000000000a", "8d289c81-5878-46d4-8554-54e1e3d8b5cb", p.spID, "ServicePrincipal")
	if code, msg := errOf(body); st != 403 || code != "AuthorizationFailed" || !strings.Contains(msg, "contrib@contoso.com") ||
		!strings.Contains(msg, "Microsoft.Authorization/roleAssignments/write") {
		t.Fatalf("Contributor assigning: %d %v", st, body)
	}
	if err := v.emu.GrantUserARMRole(testTenant, "contrib@contoso.com", wsPath(), "User Access Administrator"); err != nil {
		t.Fatal(err)
	}
	if st, body := v.assign(t, contrib, wsPath(), "0b5c7a1e-1111-4111-8111-00000000000a", "8d289c81-5878-46d4-8554-54e1e3d8b5cb", p.spID, "ServicePrincipal"); st != 201 {
		t.Fatalf("User Access Administrator assigning: %d %v", st, body)
	}

	// Lists: by principal at the subscription (below), atScope() at the RG.
	st, l := v.call(t, http.MethodGet, subScope+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId+eq+'"+p.spID+"'", arm, nil)
	if st != 200 || len(l["value"].([]any)) != 2 {
		t.Fatalf("by principal: %d %v", st, l)
	}
	_, l = v.call(t, http.MethodGet, subScope+"/resourceGroups/"+testRG+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()", arm, nil)
	if vals := l["value"].([]any); len(vals) != 2 { // the admin's and contrib's Owner/Contributor at the subscription
		t.Fatalf("atScope at the RG: %v", l)
	}
	if st, got := v.call(t, http.MethodGet, wsPath()+"/providers/Microsoft.Authorization/roleAssignments/"+name+rbacAPI, arm, nil); st != 200 || got["name"] != name {
		t.Fatalf("GET: %d %v", st, got)
	}
	if st, _ := v.call(t, http.MethodDelete, wsPath()+"/providers/Microsoft.Authorization/roleAssignments/"+name+rbacAPI, contrib, nil); st != 200 {
		t.Fatalf("DELETE: %d", st)
	}
	if st, _ := v.call(t, http.MethodDelete, wsPath()+"/providers/Microsoft.Authorization/roleAssignments/"+name+rbacAPI, arm, nil); st != 204 {
		t.Fatalf("DELETE again: %d", st)
	}
	if st, body := v.call(t, http.MethodGet, wsPath()+"/providers/Microsoft.Authorization/roleAssignments/"+name+rbacAPI, arm, nil); st != 404 {
		t.Fatalf("GET after DELETE: %d %v", st, body)
	}
}

// TestProvisionedAppLeastPrivilege: an app made through Graph with
// Sentinel Responder assigned over ARM on the workspace reads and updates
// incidents and runs queries, but cannot change labels or reach another
// workspace; Sentinel Contributor adds labels.
func TestProvisionedAppLeastPrivilege(t *testing.T) {
	v := provEnv(t)
	other, err := v.emu.AddWorkspace(Workspace{SubscriptionID: testSub, ResourceGroup: testRG, Name: "ws-second"})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := v.emu.AddIncident(testWSName, Incident{Title: "Brute force", Severity: "High"})
	if err != nil {
		t.Fatal(err)
	}
	graphTok, arm := v.adminTokens(t, adminUPN)
	p := v.provision(t, graphTok, "lastmile-sentinel-connector")
	if st, body := v.assign(t, arm, wsPath(), "7d0e9f10-0000-4000-8000-000000000001", responderRole, p.spID, "ServicePrincipal"); st != 201 {
		t.Fatalf("assign: %d %v", st, body)
	}
	_, tr := v.appToken(t, p, armScope)
	tok := tr["access_token"].(string)
	incPath := incidentsPath() + "/" + inc.Name + apiV

	if st, body := v.call(t, http.MethodGet, incidentsPath()+apiV, tok, nil); st != 200 || len(body["value"].([]any)) != 1 {
		t.Fatalf("list incidents: %d %v", st, body)
	}
	_, got := v.call(t, http.MethodGet, incPath, tok, nil)
	props := got["properties"].(map[string]any)
	props["status"] = "Active"
	props["owner"] = map[string]any{"assignedTo": "Alex Oncall"}
	if st, body := v.call(t, http.MethodPut, incPath, tok, map[string]any{"etag": got["etag"], "properties": props}); st != 200 {
		t.Fatalf("responder status change: %d %v", st, body)
	}
	_, got = v.call(t, http.MethodGet, incPath, tok, nil)
	props = got["properties"].(map[string]any)
	props["labels"] = []any{map[string]any{"labelName": "SIGNL4", "labelType": "User"}}
	if st, body := v.call(t, http.MethodPut, incPath, tok, map[string]any{"etag": got["etag"], "properties": props}); st != 403 {
		t.Fatalf("responder label change: %d %v", st, body)
	}
	otherInc := "/subscriptions/" + testSub + "/resourceGroups/" + testRG + "/providers/Microsoft.OperationalInsights/workspaces/" + other.Name + "/providers/Microsoft.SecurityInsights/incidents" + apiV
	if st, body := v.call(t, http.MethodGet, otherInc, tok, nil); st != 403 {
		t.Fatalf("other workspace: %d %v", st, body)
	}
	_, la := v.appToken(t, p, laScope)
	if st, body := v.call(t, http.MethodPost, "/v1/workspaces/"+testWSID+"/query", la["access_token"].(string), map[string]any{"query": "print 1"}); st != 200 {
		t.Fatalf("query with Responder: %d %v", st, body)
	}

	if st, body := v.assign(t, arm, wsPath(), "7d0e9f10-0000-4000-8000-000000000002", "ab8e14d6-4a74-4a29-9ba8-549422addade", p.spID, "ServicePrincipal"); st != 201 {
		t.Fatalf("assign contributor: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodPut, incPath, tok, map[string]any{"etag": got["etag"], "properties": props}); st != 200 {
		t.Fatalf("contributor label change: %d %v", st, body)
	}

	// WriteRequests sees only Graph and ARM writes.
	for _, r := range v.emu.WriteRequests() {
		if r.Method == http.MethodGet || (r.API != APIGraph && r.API != APIARM) {
			t.Fatalf("not a write: %+v", r)
		}
	}
	if n := len(v.emu.WriteRequests()); n != 8 { // app, password, SP, 2 assignments, 3 incident PUTs
		t.Fatalf("%d write requests", n)
	}
}
