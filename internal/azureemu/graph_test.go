package azureemu

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func graphEnv(t *testing.T) *env {
	t.Helper()
	v := newEnv(t)
	for id, roles := range map[string][]string{
		"none":     nil,
		"inc-r":    {"SecurityIncident.Read.All"},
		"inc-rw":   {"SecurityIncident.ReadWrite.All"},
		"alert-r":  {"SecurityAlert.Read.All"},
		"alert-rw": {"SecurityAlert.ReadWrite.All"},
		"events-r": {"SecurityEvents.Read.All"},
		"events-w": {"SecurityEvents.ReadWrite.All"},
	} {
		v.app(t, id, App{GraphRoles: roles, DisplayName: "app " + id})
	}
	return v
}

func TestGraphRolesAndAuth(t *testing.T) {
	v := graphEnv(t)
	inc, err := v.emu.AddGraphIncident(testTenant, GraphIncident{DisplayName: "i", Alerts: []GraphAlert{{Title: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	alertID := inc.Alerts[0].ID
	legacy, _ := v.emu.AddLegacyAlert(testTenant, LegacyAlert{Title: "l", Provider: "ASC"})
	patchInc := map[string]any{"status": "active"}
	patchAlert := map[string]any{"status": "inProgress"}
	patchLegacy := map[string]any{"status": "inProgress", "vendorInformation": map[string]any{"provider": "ASC", "vendor": "Microsoft"}}
	comment := map[string]any{"@odata.type": "microsoft.graph.security.alertComment", "comment": "hi"}
	cases := []struct {
		app, method, path string
		body              any
		status            int
	}{
		{"none", "GET", "/v1.0/security/incidents", nil, 403},
		{"inc-r", "GET", "/v1.0/security/incidents", nil, 200},
		{"inc-r", "GET", "/beta/security/incidents/" + inc.ID, nil, 200},
		{"inc-r", "PATCH", "/v1.0/security/incidents/" + inc.ID, patchInc, 403},
		{"inc-r", "POST", "/v1.0/security/incidents/" + inc.ID + "/comments", comment, 403},
		{"inc-rw", "PATCH", "/v1.0/security/incidents/" + inc.ID, patchInc, 200},
		{"inc-rw", "POST", "/v1.0/security/incidents/" + inc.ID + "/comments", comment, 200},
		{"inc-rw", "GET", "/v1.0/security/alerts_v2", nil, 403},
		{"alert-r", "GET", "/v1.0/security/alerts_v2", nil, 200},
		{"alert-r", "PATCH", "/v1.0/security/alerts_v2/" + alertID, patchAlert, 403},
		{"alert-rw", "PATCH", "/v1.0/security/alerts_v2/" + alertID, patchAlert, 200},
		{"alert-rw", "POST", "/v1.0/security/alerts_v2/" + alertID + "/comments", comment, 200},
		{"alert-rw", "GET", "/v1.0/security/alerts", nil, 403},
		{"events-r", "GET", "/v1.0/security/alerts", nil, 200},
		{"events-r", "PATCH", "/v1.0/security/alerts/" + legacy.ID, patchLegacy, 403},
		{"events-w", "PATCH", "/v1.0/security/alerts/" + legacy.ID, patchLegacy, 204},
	}
	for _, tc := range cases {
		t.Run(tc.app+" "+tc.method+" "+tc.path, func(t *testing.T) {
			r, body := v.do(t, tc.method, tc.path, v.token(t, tc.app, graphScope), tc.body)
			if r.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", r.StatusCode, body, tc.status)
			}
			if tc.status == 403 && (errCode(t, body) != "Forbidden" || !strings.HasPrefix(errMessage(t, body), "Missing application roles. API required roles: ")) {
				t.Fatalf("403 body %s", body)
			}
			if tc.status == 403 {
				inner, _ := jsonMap(t, body)["error"].(map[string]any)["innerError"].(map[string]any)
				if inner["request-id"] == nil || inner["date"] == nil {
					t.Errorf("innerError %v", inner)
				}
			}
		})
	}

	auth := []struct {
		name, token, msg string
	}{
		{"empty", "", "Access token is empty."},
		{"arm token", v.token(t, "inc-r", armScope), "Access token validation failure. Invalid audience."},
		{"garbage", "x.y.z", "Access token validation failure."},
	}
	for _, tc := range auth {
		t.Run(tc.name, func(t *testing.T) {
			r, body := v.do(t, http.MethodGet, "/v1.0/security/incidents", tc.token, nil)
			if r.StatusCode != 401 || errCode(t, body) != "InvalidAuthenticationToken" || errMessage(t, body) != tc.msg {
				t.Fatalf("%d %s", r.StatusCode, body)
			}
		})
	}
	t.Run("other tenant", func(t *testing.T) {
		other := "11111111-2222-3333-4444-555555555555"
		if _, err := v.emu.AddApp(other, App{ClientID: "o", Secret: "secret-o", GraphRoles: []string{"SecurityIncident.Read.All"}}); err != nil {
			t.Fatal(err)
		}
		resp, body := v.form(t, "/"+other+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"o"}, "client_secret": {"secret-o"}, "scope": {graphScope}})
		tok := jsonMap(t, body)["access_token"].(string)
		if resp.StatusCode != 200 {
			t.Fatal(string(body))
		}
		if r, _ := v.do(t, http.MethodGet, "/v1.0/security/incidents/"+inc.ID, tok, nil); r.StatusCode != 404 {
			t.Errorf("another tenant's incident: %d", r.StatusCode)
		}
	})
}

func TestGraphIncidentList(t *testing.T) {
	v := graphEnv(t)
	tok := v.token(t, "inc-r", graphScope)
	start := v.clk.Now().Add(-72 * time.Hour)
	for i := range 60 {
		inc := GraphIncident{DisplayName: fmt.Sprintf("inc %02d", i), Created: start.Add(time.Duration(i) * time.Hour),
			Status: []string{"active", "resolved", "inProgress"}[i%3], Severity: []string{"high", "low"}[i%2]}
		if i < 2 {
			inc.Alerts = []GraphAlert{{Title: "alert a"}, {Title: "alert b"}}
		}
		if _, err := v.emu.AddGraphIncident(testTenant, inc); err != nil {
			t.Fatal(err)
		}
	}
	cut := start.Add(30 * time.Hour).Format(time.RFC3339)
	cases := []struct {
		name  string
		q     url.Values
		want  int
		pages int
		code  string
	}{
		{name: "default page", q: url.Values{}, want: 60, pages: 2},
		{name: "top", q: url.Values{"$top": {"25"}}, want: 60, pages: 3},
		{name: "updated since", q: url.Values{"$filter": {"lastUpdateDateTime ge " + cut}}, want: 30, pages: 1},
		{name: "created and status", q: url.Values{"$filter": {"createdDateTime ge " + cut + " and status eq 'active'"}}, want: 10, pages: 1},
		{name: "severity or", q: url.Values{"$filter": {"(severity eq 'high' or severity eq 'low') and status eq 'resolved'"}}, want: 20, pages: 1},
		{name: "quoted datetime refused", q: url.Values{"$filter": {"lastUpdateDateTime ge '" + cut + "'"}}, code: "BadRequest"},
		{name: "property case matters", q: url.Values{"$filter": {"Status eq 'active'"}}, code: "BadRequest"},
		{name: "unsupported property", q: url.Values{"$filter": {"displayName eq 'x'"}}, code: "BadRequest"},
		{name: "unquoted string", q: url.Values{"$filter": {"status eq active"}}, code: "BadRequest"},
		{name: "top over 1000", q: url.Values{"$top": {"1001"}}, code: "BadRequest"},
		{name: "bad expand", q: url.Values{"$expand": {"comments"}}, code: "BadRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := "/v1.0/security/incidents?" + tc.q.Encode()
			var got []any
			pages := 0
			for next != "" {
				r, body := v.do(t, http.MethodGet, next, tok, nil)
				if tc.code != "" {
					if r.StatusCode != 400 || errCode(t, body) != tc.code {
						t.Fatalf("%d %s", r.StatusCode, body)
					}
					return
				}
				if r.StatusCode != 200 {
					t.Fatalf("%d %s", r.StatusCode, body)
				}
				m := jsonMap(t, body)
				got = append(got, m["value"].([]any)...)
				next, _ = m["@odata.nextLink"].(string)
				pages++
			}
			if len(got) != tc.want || pages != tc.pages {
				t.Fatalf("%d in %d pages, want %d in %d", len(got), pages, tc.want, tc.pages)
			}
		})
	}

	r, body := v.do(t, http.MethodGet, "/v1.0/security/incidents?$expand=alerts&$top=60&$count=true", tok, nil)
	m := jsonMap(t, body)
	if r.StatusCode != 200 || m["@odata.count"] != float64(60) {
		t.Fatalf("expand: %d %s", r.StatusCode, body)
	}
	withAlerts := 0
	for _, x := range m["value"].([]any) {
		alerts, ok := x.(map[string]any)["alerts"].([]any)
		if !ok {
			t.Fatal("$expand=alerts did not add alerts")
		}
		if len(alerts) == 2 {
			withAlerts++
		}
	}
	if withAlerts != 2 {
		t.Errorf("incidents with 2 alerts: %d", withAlerts)
	}
	first := m["value"].([]any)[0].(map[string]any)
	if first["displayName"] != "inc 59" {
		t.Errorf("not newest first: %v", first["displayName"])
	}
	if _, ok := first["alerts"]; !ok {
		t.Error("alerts missing")
	}
	_, body = v.do(t, http.MethodGet, "/v1.0/security/incidents", tok, nil)
	if _, ok := jsonMap(t, body)["value"].([]any)[0].(map[string]any)["alerts"]; ok {
		t.Error("alerts present without $expand")
	}
}

func TestGraphIncidentPatchAndComments(t *testing.T) {
	v := graphEnv(t)
	tok := v.token(t, "inc-rw", graphScope)
	inc, _ := v.emu.AddGraphIncident(testTenant, GraphIncident{DisplayName: "i", Alerts: []GraphAlert{{Title: "a"}, {Title: "b"}}})
	path := "/v1.0/security/incidents/" + inc.ID
	v.clk.Advance(time.Minute)
	cases := []struct {
		name   string
		body   any
		status int
	}{
		{"assign", map[string]any{"assignedTo": "alex@contoso.com", "status": "inProgress"}, 200},
		{"unassign", map[string]any{"assignedTo": nil}, 200},
		{"classify (case-insensitive)", map[string]any{"classification": "TruePositive", "determination": "MultiStagedAttack", "customTags": []string{"lastmile"}}, 200},
		{"bad status", map[string]any{"status": "closed"}, 400},
		{"awaitingAction not settable", map[string]any{"status": "awaitingAction"}, 400},
		{"read-only property", map[string]any{"severity": "high"}, 400},
		{"bad tags", map[string]any{"customTags": "x"}, 400},
		{"not json", "nope", 400},
		{"resolve", map[string]any{"status": "resolved"}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := v.do(t, http.MethodPatch, path, tok, tc.body)
			if r.StatusCode != tc.status {
				t.Fatalf("%d %s", r.StatusCode, body)
			}
			if tc.status == 200 && jsonMap(t, body)["id"] != inc.ID {
				t.Fatalf("PATCH should return the incident: %s", body)
			}
		})
	}
	got, _ := v.emu.GraphIncident(inc.ID)
	if got.Status != "resolved" || got.Classification != "truePositive" || got.Determination != "multiStagedAttack" ||
		got.AssignedTo != "" || len(got.CustomTags) != 1 || !got.LastUpdate.Equal(v.clk.Now()) {
		t.Errorf("incident after PATCH %+v", got)
	}
	for _, a := range got.Alerts {
		if a.Status != "resolved" || a.Resolved.IsZero() {
			t.Errorf("alert not resolved with its incident: %+v", a)
		}
	}
	r, body := v.do(t, http.MethodPost, path+"/comments", tok, map[string]any{"@odata.type": "microsoft.graph.security.alertComment", "comment": "acked in lastmile"})
	vals, _ := jsonMap(t, body)["value"].([]any)
	if r.StatusCode != 200 || len(vals) != 1 || vals[0].(map[string]any)["createdByDisplayName"] != "app inc-rw" {
		t.Fatalf("comment: %d %s", r.StatusCode, body)
	}
	if r, _ := v.do(t, http.MethodPost, path+"/comments", tok, map[string]any{"comment": ""}); r.StatusCode != 400 {
		t.Errorf("empty comment: %d", r.StatusCode)
	}
	if r, _ := v.do(t, http.MethodPatch, "/v1.0/security/incidents/999999", tok, map[string]any{"status": "active"}); r.StatusCode != 404 {
		t.Errorf("missing incident: %d", r.StatusCode)
	}
	r, body = v.do(t, http.MethodGet, path+"/alerts", v.token(t, "inc-r", graphScope), nil)
	if vals, _ := jsonMap(t, body)["value"].([]any); r.StatusCode != 200 || len(vals) != 2 {
		t.Errorf("incident alerts: %d %s", r.StatusCode, body)
	}
}

func TestGraphRedirectedIncident(t *testing.T) {
	v := graphEnv(t)
	tok := v.token(t, "inc-r", graphScope)
	a, _ := v.emu.AddGraphIncident(testTenant, GraphIncident{DisplayName: "a", Alerts: []GraphAlert{{Title: "x"}}})
	b, _ := v.emu.AddGraphIncident(testTenant, GraphIncident{DisplayName: "b"})
	if err := v.emu.MergeGraphIncidents(a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	_, body := v.do(t, http.MethodGet, "/v1.0/security/incidents/"+a.ID, tok, nil)
	m := jsonMap(t, body)
	if m["status"] != "redirected" || m["redirectIncidentId"] != b.ID {
		t.Fatalf("merged incident %s", body)
	}
	_, body = v.do(t, http.MethodGet, "/v1.0/security/incidents/"+b.ID+"?$expand=alerts", tok, nil)
	if alerts := jsonMap(t, body)["alerts"].([]any); len(alerts) != 1 || alerts[0].(map[string]any)["incidentId"] != b.ID {
		t.Fatalf("alerts did not move: %s", body)
	}
}

func TestGraphAlertsV2(t *testing.T) {
	v := graphEnv(t)
	tok := v.token(t, "alert-rw", graphScope)
	inc, _ := v.emu.AddGraphIncident(testTenant, GraphIncident{DisplayName: "i", Alerts: []GraphAlert{
		{Title: "sentinel", ServiceSource: "microsoftSentinel", DetectionSource: "scheduledAlerts"},
		{Title: "mde", ServiceSource: "microsoftDefenderForEndpoint", DetectionSource: "antivirus"},
	}})
	var sentinelID string
	for _, a := range inc.Alerts {
		if a.Title == "sentinel" {
			sentinelID = a.ID
		}
	}
	path := "/v1.0/security/alerts_v2/" + sentinelID
	cases := []struct {
		name, prefer           string
		service, detection, pa string
	}{
		{"without Prefer", "", "unknownFutureValue", "unknownFutureValue", ""},
		{"with Prefer", "include-unknown-enum-members", "microsoftSentinel", "scheduledAlerts", "include-unknown-enum-members"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := v.do(t, http.MethodGet, path, tok, nil, "Prefer", tc.prefer)
			m := jsonMap(t, body)
			if r.StatusCode != 200 || m["serviceSource"] != tc.service || m["detectionSource"] != tc.detection || r.Header.Get("Preference-Applied") != tc.pa {
				t.Fatalf("%d %s (Preference-Applied %q)", r.StatusCode, body, r.Header.Get("Preference-Applied"))
			}
		})
	}
	_, body := v.do(t, http.MethodGet, "/v1.0/security/alerts_v2?$filter=serviceSource eq 'microsoftDefenderForEndpoint'", tok, nil)
	if vals := jsonMap(t, body)["value"].([]any); len(vals) != 1 || vals[0].(map[string]any)["serviceSource"] != "microsoftDefenderForEndpoint" {
		t.Fatalf("filter serviceSource: %s", body)
	}

	v.clk.Advance(time.Minute)
	r, body := v.do(t, http.MethodPatch, path, tok, map[string]any{"status": "resolved", "classification": "falsePositive", "determination": "other", "assignedTo": "alex@contoso.com"})
	m := jsonMap(t, body)
	if r.StatusCode != 200 || m["status"] != "resolved" || m["resolvedDateTime"] == nil || m["title"] != "sentinel" || m["assignedTo"] != "alex@contoso.com" {
		t.Fatalf("PATCH: %d %s", r.StatusCode, body)
	}
	if gi, _ := v.emu.GraphIncident(inc.ID); !gi.LastUpdate.Equal(v.clk.Now()) {
		t.Errorf("alert change did not touch its incident")
	}
	for _, bad := range []map[string]any{{"status": "active"}, {"title": "x"}, {"classification": 3}} {
		if r, body := v.do(t, http.MethodPatch, path, tok, bad); r.StatusCode != 400 {
			t.Errorf("PATCH %v: %d %s", bad, r.StatusCode, body)
		}
	}
	r, body = v.do(t, http.MethodPost, path+"/comments", tok, map[string]any{"@odata.type": "microsoft.graph.security.alertComment", "comment": "Demo for docs"})
	m = jsonMap(t, body)
	if vals, _ := m["value"].([]any); r.StatusCode != 200 || len(vals) != 1 || !strings.Contains(m["@odata.context"].(string), "alerts_v2('"+sentinelID+"')/comments") {
		t.Fatalf("comment: %d %s", r.StatusCode, body)
	}
	got, _ := v.emu.GraphAlert(sentinelID)
	if got.Classification != "falsePositive" || len(got.Comments) != 1 {
		t.Errorf("GraphAlert() %+v", got)
	}
}

func TestLegacyAlerts(t *testing.T) {
	v := graphEnv(t)
	tok := v.token(t, "events-w", graphScope)
	a, _ := v.emu.AddLegacyAlert(testTenant, LegacyAlert{Title: "legacy", Provider: "IPC", Extra: map[string]any{"hostStates": []any{map[string]any{"fqdn": "pc1"}}}})
	path := "/v1.0/security/alerts/" + a.ID
	vi := map[string]any{"provider": "IPC", "vendor": "Microsoft"}
	cases := []struct {
		name   string
		body   map[string]any
		prefer string
		status int
	}{
		{"no vendorInformation", map[string]any{"status": "inProgress"}, "", 400},
		{"vendor missing", map[string]any{"status": "inProgress", "vendorInformation": map[string]any{"provider": "IPC"}}, "", 400},
		{"other provider", map[string]any{"status": "inProgress", "vendorInformation": map[string]any{"provider": "MCAS", "vendor": "Microsoft"}}, "", 404},
		{"bad status", map[string]any{"status": "new", "vendorInformation": vi}, "", 400},
		{"free-text comment", map[string]any{"comments": []string{"hello"}, "vendorInformation": vi}, "", 400},
		{"ok", map[string]any{"status": "inProgress", "assignedTo": "alex@contoso.com", "feedback": "truePositive", "vendorInformation": vi}, "", 204},
		{"representation", map[string]any{"status": "resolved", "comments": []string{"Closed in IPC"}, "closedDateTime": "2026-01-02T03:04:05Z", "vendorInformation": vi}, "return=representation", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := v.do(t, http.MethodPatch, path, tok, tc.body, "Prefer", tc.prefer)
			if r.StatusCode != tc.status {
				t.Fatalf("%d %s", r.StatusCode, body)
			}
			if tc.status == 200 && jsonMap(t, body)["status"] != "resolved" {
				t.Fatalf("representation %s", body)
			}
			if tc.status == 204 && len(body) != 0 {
				t.Fatalf("204 with body %s", body)
			}
		})
	}
	got, _ := v.emu.LegacyAlert(a.ID)
	if got.Status != "resolved" || got.AssignedTo != "alex@contoso.com" || got.Feedback != "truePositive" || got.Closed.IsZero() {
		t.Errorf("legacy alert %+v", got)
	}
	r, body := v.do(t, http.MethodGet, path, tok, nil)
	if m := jsonMap(t, body); r.StatusCode != 200 || m["hostStates"] == nil || m["vendorInformation"].(map[string]any)["provider"] != "IPC" {
		t.Errorf("GET %s", body)
	}
	for skip, want := range map[string]int{"500": 200, "501": 400} {
		if r, body := v.do(t, http.MethodGet, "/v1.0/security/alerts?$top=10&$skip="+skip, tok, nil); r.StatusCode != want {
			t.Errorf("$skip=%s: %d %s", skip, r.StatusCode, body)
		}
	}
	if r, body := v.do(t, http.MethodGet, "/v1.0/security/alerts?$filter=vendorInformation/provider eq 'IPC' and eventDateTime ge 2020-01-01T00:00:00.000Z", tok, nil); r.StatusCode != 200 || len(jsonMap(t, body)["value"].([]any)) != 1 {
		t.Errorf("legacy filter: %d %s", r.StatusCode, body)
	}
}
