package sentinel

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func checkByName(checks []Check) map[string]Check {
	m := map[string]Check{}
	for _, c := range checks {
		m[c.Name] = c
	}
	return m
}

func sentinelFake(t *testing.T, actions string) *fakeAzure {
	f := newFakeAzure(t)
	wsPath := "/subscriptions/" + testSub + "/resourceGroups/" + testRG + "/providers/Microsoft.OperationalInsights/workspaces/" + testWS
	f.handle("GET "+wsPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"x","name":"soc-ws","properties":{"customerId":"`+testWSID+`"}}`)
	})
	f.handle("GET "+incidentsPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"value":[],"nextLink":"`+f.srv.URL+incidentsPath+`?$skipToken=x"}`)
	})
	if actions != "" {
		f.handle("GET "+wsPath+"/providers/Microsoft.Authorization/permissions", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, actions)
		})
	}
	f.handle("POST /v1/workspaces/{id}/query", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"tables":[{"name":"PrimaryResult","columns":[{"name":"x","type":"long"}],"rows":[[1]]}]}`)
	})
	return f
}

func TestCheckPermissionsSentinelResponder(t *testing.T) {
	f := sentinelFake(t, `{"value":[{"actions":["Microsoft.SecurityInsights/*/read","Microsoft.SecurityInsights/incidents/*"],"notActions":[]},{"actions":["*/read"],"notActions":[]}]}`)
	c, _ := f.client()
	checks := c.CheckPermissions(context.Background(), ModeSentinel, true, true, true)
	for _, ch := range checks {
		if !ch.OK || ch.Unverified {
			t.Errorf("%s: %+v", ch.Name, ch)
		}
	}
	m := checkByName(checks)
	for _, name := range []string{"Sign-in for Azure Resource Manager", "Workspace", "Read incidents", "Update incidents", "Comment on incidents", "Label incidents", "Run Log Analytics queries"} {
		if _, ok := m[name]; !ok {
			t.Errorf("no %q check in %+v", name, checks)
		}
	}
	var list *seen
	for _, s := range f.seen() {
		if s.Method != http.MethodGet && s.Method != http.MethodPost {
			t.Errorf("a check changed something: %s %s", s.Method, s.Path)
		}
		if s.Path == incidentsPath {
			list = &s
		}
		if s.Method == http.MethodPost && s.Path != "/v1/workspaces/"+testWSID+"/query" {
			t.Errorf("unexpected POST %s", s.Path)
		}
	}
	if list == nil || list.Query.Get("$top") != "1" {
		t.Errorf("incident probe = %+v, want $top=1", list)
	}
	n := 0
	for _, s := range f.seen() {
		if s.Path == incidentsPath {
			n++
		}
	}
	if n != 1 {
		t.Errorf("incident list requests = %d, want 1 (no paging in a probe)", n)
	}
}

func TestCheckPermissionsSentinelReaderOnly(t *testing.T) {
	f := sentinelFake(t, `{"value":[{"actions":["Microsoft.SecurityInsights/*/read","Microsoft.OperationalInsights/workspaces/read"],"notActions":[]}]}`)
	c, _ := f.client()
	m := checkByName(c.CheckPermissions(context.Background(), ModeSentinel, true, false, false))
	up := m["Update incidents"]
	if up.OK || !strings.Contains(up.Detail, "lacks the 'Microsoft Sentinel Responder' role on workspace soc-ws") {
		t.Errorf("update check = %+v", up)
	}
	if !m["Read incidents"].OK {
		t.Errorf("read check = %+v", m["Read incidents"])
	}
	if _, ok := m["Run Log Analytics queries"]; ok {
		t.Error("query checked though augmentation is off")
	}
}

func TestCheckPermissionsSentinelUnverifiedWrites(t *testing.T) {
	f := sentinelFake(t, "") // no permission listing: writes cannot be proven
	c, _ := f.client()
	m := checkByName(c.CheckPermissions(context.Background(), ModeSentinel, true, false, false))
	up := m["Update incidents"]
	if !up.OK || !up.Unverified || !strings.Contains(up.Detail, "first write-back will tell") || !strings.Contains(up.Detail, RoleSentinelResponder) {
		t.Errorf("update check = %+v", up)
	}
}

func TestCheckPermissionsSentinelSignInFails(t *testing.T) {
	f := sentinelFake(t, "")
	f.tokenFail = entraFailure(401, "invalid_client", 7000215, "Invalid client secret provided.")
	c, _ := f.client()
	checks := c.CheckPermissions(context.Background(), ModeSentinel, true, true, true)
	if len(checks) != 1 || checks[0].OK || !strings.Contains(checks[0].Detail, "client secret is wrong") || !strings.Contains(checks[0].Detail, "AADSTS7000215") {
		t.Errorf("checks = %+v", checks)
	}
}

func TestCheckPermissionsGraph(t *testing.T) {
	tests := []struct {
		mode        string
		roles       []string
		readOK      bool
		writeOK     bool
		writeDetail string
	}{
		{ModeGraphIncidents, []string{"SecurityIncident.ReadWrite.All"}, true, true, "granted: SecurityIncident.ReadWrite.All"},
		{ModeGraphIncidents, []string{"SecurityIncident.Read.All"}, true, false, "missing application permission SecurityIncident.ReadWrite.All"},
		{ModeGraphAlerts, []string{"SecurityIncident.ReadWrite.All"}, false, false, "missing application permission SecurityAlert.ReadWrite.All"},
		{ModeGraphLegacy, []string{"SecurityEvents.Read.All", "SecurityEvents.ReadWrite.All"}, true, true, "granted: SecurityEvents.ReadWrite.All"},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+strings.Join(tt.roles, ","), func(t *testing.T) {
			f := newFakeAzure(t)
			f.roles = tt.roles
			for _, p := range []string{"/v1.0/security/incidents", "/v1.0/security/alerts_v2", "/v1.0/security/alerts"} {
				f.handle("GET "+p, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"value":[]}`) })
			}
			c, _ := f.client()
			checks := c.CheckPermissions(context.Background(), tt.mode, true, false, false)
			if len(checks) != 4 {
				t.Fatalf("checks = %+v", checks)
			}
			if checks[1].OK != tt.readOK {
				t.Errorf("read permission check = %+v", checks[1])
			}
			w := checks[3]
			if w.OK != tt.writeOK || !strings.Contains(w.Detail, tt.writeDetail) {
				t.Errorf("write check = %+v, want OK %v and %q", w, tt.writeOK, tt.writeDetail)
			}
			if q := f.seen()[0].Query; q.Get("$top") != "1" {
				t.Errorf("probe query = %v", q)
			}
		})
	}
}

func TestCheckPermissionsGraphAlertsCannotTag(t *testing.T) {
	f := newFakeAzure(t)
	f.roles = []string{"SecurityAlert.ReadWrite.All"}
	f.handle("GET /v1.0/security/alerts_v2", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"value":[]}`) })
	f.handle("POST /v1/workspaces/{id}/query", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 403, `{"error":{"message":"The provided credentials have insufficient access to perform the requested operation","code":"InsufficientAccessError"}}`)
	})
	c, _ := f.client()
	m := checkByName(c.CheckPermissions(context.Background(), ModeGraphAlerts, false, true, true))
	if tag := m["Tag alerts"]; tag.OK || !strings.Contains(tag.Detail, "cannot carry tags") {
		t.Errorf("tag check = %+v", tag)
	}
	if q := m["Run Log Analytics queries"]; q.OK || !strings.Contains(q.Detail, "lacks the 'Log Analytics Reader' role") {
		t.Errorf("query check = %+v", q)
	}
}

func TestCheckPermissionsUnknownMode(t *testing.T) {
	f := newFakeAzure(t)
	c, _ := f.client()
	checks := c.CheckPermissions(context.Background(), "splunk", false, false, false)
	if len(checks) != 1 || checks[0].OK || !strings.Contains(checks[0].Detail, `unknown mode "splunk"`) {
		t.Errorf("checks = %+v", checks)
	}
}

func TestTokenRoles(t *testing.T) {
	if r, ok := tokenRoles(fakeJWT(map[string]any{"roles": []string{"A", "B"}})); !ok || len(r) != 2 {
		t.Errorf("roles = %v, %v", r, ok)
	}
	if r, ok := tokenRoles(fakeJWT(map[string]any{"aud": "x"})); !ok || len(r) != 0 {
		t.Errorf("no roles claim = %v, %v; want known and empty", r, ok)
	}
	if _, ok := tokenRoles("opaque-token"); ok {
		t.Error("an opaque token was read")
	}
}

func TestActionMatch(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.SecurityInsights/incidents/write", true},
		{"Microsoft.SecurityInsights/*", "Microsoft.SecurityInsights/incidents/write", true},
		{"microsoft.securityinsights/incidents/*", "Microsoft.SecurityInsights/incidents/comments/write", true},
		{"*/read", "Microsoft.SecurityInsights/incidents/write", false},
		{"Microsoft.SecurityInsights/incidents/read", "Microsoft.SecurityInsights/incidents/write", false},
	}
	for _, tt := range tests {
		if got := actionMatch(tt.pattern, tt.action); got != tt.want {
			t.Errorf("actionMatch(%q, %q) = %v", tt.pattern, tt.action, got)
		}
	}
	set := actionSet{{Actions: []string{"Microsoft.SecurityInsights/*"}, NotActions: []string{"Microsoft.SecurityInsights/incidents/write"}}}
	if set.allows("Microsoft.SecurityInsights/incidents/write") {
		t.Error("notActions ignored")
	}
}
