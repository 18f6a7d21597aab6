package azureemu

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// sentinelEnv adds apps holding each Sentinel role on the workspace.
func sentinelEnv(t *testing.T) *env {
	t.Helper()
	v := newEnv(t)
	rgScope := "/subscriptions/" + testSub + "/resourceGroups/" + testRG
	for id, grant := range map[string]map[string][]string{
		"reader":      {wsPath(): {"Microsoft Sentinel Reader"}},
		"responder":   {wsPath(): {"Microsoft Sentinel Responder"}},
		"contributor": {wsPath(): {"Microsoft Sentinel Contributor"}},
		"rg-resp":     {rgScope: {"Microsoft Sentinel Responder"}},
		"sub-contrib": {"/subscriptions/" + testSub: {"Microsoft Sentinel Contributor"}},
		"la-reader":   {wsPath(): {"Log Analytics Reader"}},
		"elsewhere":   {"/subscriptions/" + testSub + "/resourceGroups/other": {"Microsoft Sentinel Contributor"}},
		"norole":      {},
	} {
		v.app(t, id, App{ARMRoles: grant})
	}
	return v
}

func putBody(etag string, props map[string]any) map[string]any {
	b := map[string]any{"properties": props}
	if etag != "" {
		b["etag"] = etag
	}
	return b
}

func baseProps() map[string]any {
	return map[string]any{"title": "Suspicious sign-in", "severity": "High", "status": "New"}
}

func TestSentinelAPIVersion(t *testing.T) {
	v := sentinelEnv(t)
	tok := v.token(t, "reader", armScope)
	cases := []struct {
		query  string
		status int
		code   string
	}{
		{"", 400, "MissingApiVersionParameter"},
		{"?api-version=2019-01-01-preview", 400, "InvalidApiVersionParameter"},
		{"?api-version=2023-02-01", 400, "InvalidApiVersionParameter"},
	}
	for _, ver := range sentinelAPIVersions {
		cases = append(cases, struct {
			query  string
			status int
			code   string
		}{"?api-version=" + ver, 200, ""})
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			resp, body := v.do(t, http.MethodGet, incidentsPath()+tc.query, tok, nil)
			if resp.StatusCode != tc.status || (tc.code != "" && errCode(t, body) != tc.code) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
		})
	}
}

func TestSentinelAuthentication(t *testing.T) {
	v := sentinelEnv(t)
	good := v.token(t, "reader", armScope)
	graph := v.token(t, "reader", graphScope)
	cases := []struct {
		name, token, code, msg string
	}{
		{"no token", "", "AuthenticationFailed", "header is missing"},
		{"garbage", "abc.def.ghi", "InvalidAuthenticationToken", "invalid"},
		{"forged", good[:len(good)-4] + "AAAA", "InvalidAuthenticationToken", "invalid"},
		{"graph token", graph, "InvalidAuthenticationTokenAudience", "wrong audience"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := v.do(t, http.MethodGet, incidentsPath()+apiV, tc.token, nil)
			if resp.StatusCode != 401 || errCode(t, body) != tc.code || !strings.Contains(errMessage(t, body), tc.msg) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate challenge")
			}
		})
	}
	t.Run("lifetime over", func(t *testing.T) {
		v.clk.Advance(3599 * time.Second)
		resp, body := v.do(t, http.MethodGet, incidentsPath()+apiV, good, nil)
		if resp.StatusCode != 401 || errMessage(t, body) != "Access token has expired." {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if resp, body := v.do(t, http.MethodGet, incidentsPath()+apiV, v.token(t, "reader", armScope), nil); resp.StatusCode != 200 {
			t.Fatalf("fresh token: %d %s", resp.StatusCode, body)
		}
	})
}

func TestSentinelAuthorization(t *testing.T) {
	v := sentinelEnv(t)
	inc, err := v.emu.AddIncident(testWSName, Incident{Title: "t", Severity: "Low", Labels: []Label{{Name: "existing"}}})
	if err != nil {
		t.Fatal(err)
	}
	incPath := incidentsPath() + "/" + inc.Name + apiV
	statusOnly := func() map[string]any {
		p := baseProps()
		p["status"] = "Active"
		return putBody("", p)
	}
	withLabel := func() map[string]any {
		p := baseProps()
		p["labels"] = []map[string]any{{"labelName": "existing"}, {"labelName": "lastmile"}}
		return putBody("", p)
	}
	sameLabels := func() map[string]any {
		p := baseProps()
		p["labels"] = []map[string]any{{"labelName": "existing", "labelType": "User"}}
		return putBody("", p)
	}
	comment := map[string]any{"properties": map[string]any{"message": "hello"}}
	cases := []struct {
		app, method, path string
		body              any
		status            int
		action            string
	}{
		{"reader", "GET", incidentsPath() + apiV, nil, 200, ""},
		{"reader", "GET", incPath, nil, 200, ""},
		{"reader", "POST", incidentsPath() + "/" + inc.Name + "/alerts" + apiV, nil, 200, ""},
		{"reader", "PUT", incPath, statusOnly(), 403, "Microsoft.SecurityInsights/incidents/write"},
		{"reader", "PUT", incidentsPath() + "/" + inc.Name + "/comments/c1" + apiV, comment, 403, "Microsoft.SecurityInsights/incidents/comments/write"},
		{"la-reader", "GET", incidentsPath() + apiV, nil, 403, "Microsoft.SecurityInsights/incidents/read"},
		{"norole", "GET", incidentsPath() + apiV, nil, 403, "Microsoft.SecurityInsights/incidents/read"},
		{"elsewhere", "GET", incidentsPath() + apiV, nil, 403, "Microsoft.SecurityInsights/incidents/read"},
		{"responder", "PUT", incPath, statusOnly(), 200, ""},
		{"responder", "PUT", incPath, sameLabels(), 200, ""},
		{"responder", "PUT", incPath, withLabel(), 403, actionIncidentLabels},
		{"responder", "PUT", incidentsPath() + "/" + inc.Name + "/comments/c2" + apiV, comment, 201, ""},
		{"responder", "DELETE", incPath, nil, 403, actionIncidentDelete},
		{"rg-resp", "PUT", incPath, statusOnly(), 200, ""},
		{"rg-resp", "PUT", incPath, withLabel(), 403, actionIncidentLabels},
		{"contributor", "PUT", incPath, withLabel(), 200, ""},
		{"sub-contrib", "GET", incPath, nil, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.app+" "+tc.method+" "+tc.action, func(t *testing.T) {
			resp, body := v.do(t, tc.method, tc.path, v.token(t, tc.app, armScope), tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status != 403 {
				return
			}
			msg := errMessage(t, body)
			if errCode(t, body) != "AuthorizationFailed" || !strings.Contains(msg, "The client '"+tc.app+"' with object id '") ||
				!strings.Contains(msg, "perform action '"+tc.action+"' over scope '/subscriptions/"+testSub) {
				t.Fatalf("403 body %s", body)
			}
		})
	}
	if got, _ := v.emu.Incident(inc.Name); len(got.Labels) != 2 {
		t.Errorf("contributor's label change not saved: %+v", got.Labels)
	}
}

func TestSentinelListFilterOrderPaging(t *testing.T) {
	v := sentinelEnv(t)
	tok := v.token(t, "reader", armScope)
	start := v.clk.Now().Add(-100 * time.Hour)
	for i := range 120 {
		status := []string{"New", "Active", "Closed"}[i%3]
		inc := Incident{Title: fmt.Sprintf("incident %03d", i), Severity: []string{"High", "Low"}[i%2], Status: status, Created: start.Add(time.Duration(i) * time.Hour)}
		if status == "Closed" {
			inc.Classification = "FalsePositive"
		}
		if _, err := v.emu.AddIncident(testWSID, inc); err != nil {
			t.Fatal(err)
		}
	}
	cut := start.Add(60 * time.Hour).Format(time.RFC3339)
	list := func(t *testing.T, q url.Values) ([]map[string]any, int, string) {
		t.Helper()
		q.Set("api-version", "2025-09-01")
		var all []map[string]any
		next := incidentsPath() + "?" + q.Encode()
		pages := 0
		for next != "" {
			resp, body := v.do(t, http.MethodGet, next, tok, nil)
			if resp.StatusCode != 200 {
				return nil, resp.StatusCode, errCode(t, body)
			}
			m := jsonMap(t, body)
			for _, x := range m["value"].([]any) {
				all = append(all, x.(map[string]any))
			}
			next, _ = m["nextLink"].(string)
			if next != "" && !strings.Contains(next, "$skipToken=") && !strings.Contains(next, "%24skipToken=") {
				t.Fatalf("nextLink without $skipToken: %s", next)
			}
			pages++
		}
		return all, pages, ""
	}
	prop := func(x map[string]any, k string) any { return x["properties"].(map[string]any)[k] }

	cases := []struct {
		name    string
		q       url.Values
		want    int
		pages   int
		errCode string
		check   func(t *testing.T, got []map[string]any)
	}{
		{name: "default page size", q: url.Values{}, want: 120, pages: 3},
		{name: "top", q: url.Values{"$top": {"7"}}, want: 120, pages: 18},
		{name: "status", q: url.Values{"$filter": {"properties/status eq 'New'"}}, want: 40, pages: 1},
		{name: "status case-insensitive", q: url.Values{"$filter": {"properties/status eq 'new'"}}, want: 40, pages: 1},
		{name: "created ge", q: url.Values{"$filter": {"properties/createdTimeUtc ge " + cut}}, want: 60, pages: 2},
		{name: "modified ge and status", q: url.Values{"$filter": {"properties/lastModifiedTimeUtc ge " + cut + " and properties/status eq 'New'"}}, want: 20, pages: 1},
		{name: "or in parentheses", q: url.Values{"$filter": {"(properties/status eq 'New' or properties/status eq 'Active') and properties/severity eq 'High'"}}, want: 40, pages: 1},
		{name: "quoted datetime", q: url.Values{"$filter": {"properties/createdTimeUtc ge '" + cut + "'"}}, want: 60, pages: 2},
		{name: "not", q: url.Values{"$filter": {"not (properties/status eq 'Closed')"}}, want: 80, pages: 2},
		{name: "order asc", q: url.Values{"$orderby": {"properties/lastModifiedTimeUtc asc"}, "$top": {"1000"}}, want: 120, pages: 1,
			check: func(t *testing.T, got []map[string]any) {
				if prop(got[0], "title") != "incident 000" || prop(got[119], "title") != "incident 119" {
					t.Errorf("order: first %v last %v", prop(got[0], "title"), prop(got[119], "title"))
				}
			}},
		{name: "default newest first", q: url.Values{"$top": {"1"}, "$filter": {"properties/severity eq 'Low'"}}, want: 60, pages: 60,
			check: func(t *testing.T, got []map[string]any) {
				if prop(got[0], "title") != "incident 119" {
					t.Errorf("first %v", prop(got[0], "title"))
				}
			}},
		{name: "number desc", q: url.Values{"$orderby": {"properties/incidentNumber desc"}, "$top": {"1000"}}, want: 120, pages: 1,
			check: func(t *testing.T, got []map[string]any) {
				if prop(got[0], "incidentNumber") != float64(120) {
					t.Errorf("first number %v", prop(got[0], "incidentNumber"))
				}
			}},
		{name: "top too large", q: url.Values{"$top": {"1001"}}, errCode: "BadRequest"},
		{name: "unknown field", q: url.Values{"$filter": {"properties/foo eq 'x'"}}, errCode: "BadRequest"},
		{name: "function", q: url.Values{"$filter": {"contains(properties/title, 'x')"}}, errCode: "BadRequest"},
		{name: "lambda", q: url.Values{"$filter": {"properties/labels/any(l: l/labelName eq 'x')"}}, errCode: "BadRequest"},
		{name: "unbalanced", q: url.Values{"$filter": {"(properties/status eq 'New'"}}, errCode: "BadRequest"},
		{name: "bad orderby", q: url.Values{"$orderby": {"properties/title sideways"}}, errCode: "BadRequest"},
		{name: "bad skip token", q: url.Values{"$skipToken": {"!!"}}, errCode: "BadRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, pages, code := list(t, tc.q)
			if tc.errCode != "" {
				if code != tc.errCode {
					t.Fatalf("code %q, want %s", code, tc.errCode)
				}
				return
			}
			if code != "" {
				t.Fatalf("error %s", code)
			}
			seen := map[string]bool{}
			for _, x := range got {
				if seen[x["name"].(string)] {
					t.Fatalf("duplicate %v across pages", x["name"])
				}
				seen[x["name"].(string)] = true
			}
			if len(got) != tc.want || pages != tc.pages {
				t.Fatalf("%d items in %d pages, want %d in %d", len(got), pages, tc.want, tc.pages)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestSentinelAlertsAndEntities(t *testing.T) {
	v := sentinelEnv(t)
	tok := v.token(t, "reader", armScope)
	qs := v.clk.Now().Add(-time.Hour)
	inc, err := v.emu.AddIncident(testWSName, Incident{
		Title: "Brute force", Severity: "High",
		Alerts: []Alert{{DisplayName: "Brute force", Tactics: []string{"CredentialAccess"}, ExtendedProperties: map[string]string{
			AlertPropQuery: "SigninLogs | where ResultType != 0", AlertPropQueryStartTime: qs.Format(time.RFC3339),
			AlertPropQueryEndTime: v.clk.Now().Format(time.RFC3339), AlertPropRuleName: "Brute force rule",
		}}},
		Entities: []Entity{{Kind: "Account", Properties: map[string]any{"accountName": "alex"}}, {Kind: "Ip", Properties: map[string]any{"address": "10.0.0.1"}}, {Kind: "Account", Properties: map[string]any{"accountName": "sam"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, body := v.do(t, http.MethodPost, incidentsPath()+"/"+inc.Name+"/alerts"+apiV, tok, nil)
	if r.StatusCode != 200 {
		t.Fatalf("alerts: %d %s", r.StatusCode, body)
	}
	alerts := jsonMap(t, body)["value"].([]any)
	a := alerts[0].(map[string]any)
	props := a["properties"].(map[string]any)
	add := props["additionalData"].(map[string]any)
	if len(alerts) != 1 || a["kind"] != "SecurityAlert" || props["systemAlertId"] != inc.Alerts[0].Name ||
		add["Query"] != "SigninLogs | where ResultType != 0" || add["Analytic Rule Name"] != "Brute force rule" || add["Query Start Time UTC"] == nil {
		t.Fatalf("alert %s", body)
	}
	r, body = v.do(t, http.MethodPost, incidentsPath()+"/"+inc.Name+"/entities"+apiV, tok, nil)
	m := jsonMap(t, body)
	if r.StatusCode != 200 || len(m["entities"].([]any)) != 3 || fmt.Sprint(m["metaData"]) != "[map[count:2 entityKind:Account] map[count:1 entityKind:Ip]]" {
		t.Fatalf("entities: %d %s", r.StatusCode, body)
	}
	r, body = v.do(t, http.MethodGet, incidentsPath()+"/"+inc.Name+apiV, tok, nil)
	ad := jsonMap(t, body)["properties"].(map[string]any)["additionalData"].(map[string]any)
	if r.StatusCode != 200 || ad["alertsCount"] != float64(1) || fmt.Sprint(ad["tactics"]) != "[CredentialAccess]" {
		t.Fatalf("incident additionalData: %s", body)
	}
	if r, _ := v.do(t, http.MethodPost, incidentsPath()+"/missing/alerts"+apiV, tok, nil); r.StatusCode != 404 {
		t.Errorf("alerts of missing incident: %d", r.StatusCode)
	}
	if r, _ := v.do(t, http.MethodPatch, incidentsPath()+"/"+inc.Name+apiV, tok, "{}"); r.StatusCode != 405 {
		t.Errorf("PATCH incident: %d", r.StatusCode)
	}
	rows, _ := v.emu.Rows(testWSID, "SecurityAlert")
	if len(rows) != 1 || !strings.Contains(rows[0]["ExtendedProperties"].(string), "Brute force rule") {
		t.Errorf("SecurityAlert rows %v", rows)
	}
}

func TestSentinelSideUpdate(t *testing.T) {
	v := sentinelEnv(t)
	tok := v.token(t, "reader", armScope)
	inc, _ := v.emu.AddIncident(testWSName, Incident{Title: "t"})
	mark := v.clk.Now().Add(time.Second)
	v.clk.Advance(time.Minute)
	upd, err := v.emu.UpdateIncident(inc.Name, func(i *Incident) { i.Status = "Closed"; i.Classification = "TruePositive"; i.Number = 99 })
	if err != nil {
		t.Fatal(err)
	}
	if upd.ETag == inc.ETag || upd.Number != inc.Number || !upd.LastModified.Equal(v.clk.Now()) {
		t.Fatalf("update %+v", upd)
	}
	q := url.Values{"api-version": {"2025-09-01"}, "$filter": {"properties/lastModifiedTimeUtc ge " + mark.Format(time.RFC3339)}}
	_, body := v.do(t, http.MethodGet, incidentsPath()+"?"+q.Encode(), tok, nil)
	if got := jsonMap(t, body)["value"].([]any); len(got) != 1 {
		t.Fatalf("changed incident not found by watermark: %s", body)
	}
	if _, err := v.emu.UpdateIncident(inc.Name, func(i *Incident) { i.Status = "Bogus" }); err == nil {
		t.Error("invalid status accepted")
	}
}

func TestWorkspaceARM(t *testing.T) {
	v := sentinelEnv(t)
	v.app(t, "keys", App{ARMRoles: map[string][]string{wsPath(): {"Log Analytics Contributor"}}})
	tok := v.token(t, "reader", armScope)
	cases := []struct {
		name, path string
		status     int
		code       string
	}{
		{"ok", wsPath() + "?api-version=2022-10-01", 200, ""},
		{"resourcegroups lower case", strings.Replace(wsPath(), "resourceGroups", "resourcegroups", 1) + "?api-version=2022-10-01", 200, ""},
		{"bad version", wsPath() + "?api-version=2025-09-01", 400, "InvalidApiVersionParameter"},
		{"unknown workspace, no rights there", strings.Replace(wsPath(), testWSName, "ws-other", 1) + "?api-version=2022-10-01", 403, "AuthorizationFailed"},
		{"unknown rg", "/subscriptions/" + testSub + "/resourceGroups/rg-x/providers/Microsoft.OperationalInsights/workspaces/" + testWSName + "?api-version=2022-10-01", 403, "AuthorizationFailed"},
		{"unknown subscription", strings.Replace(wsPath(), testSub, "00000000-0000-0000-0000-000000000009", 1) + "?api-version=2022-10-01", 403, "AuthorizationFailed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := v.do(t, http.MethodGet, tc.path, tok, nil)
			if r.StatusCode != tc.status || (tc.code != "" && errCode(t, body) != tc.code) {
				t.Fatalf("%d %s", r.StatusCode, body)
			}
			if tc.status == 200 && jsonMap(t, body)["properties"].(map[string]any)["customerId"] != testWSID {
				t.Fatalf("customerId missing: %s", body)
			}
		})
	}
	// With rights over the whole subscription, missing levels are 404s.
	sub := v.token(t, "sub-contrib", armScope)
	if r, body := v.do(t, http.MethodGet, "/subscriptions/"+testSub+"/resourceGroups/rg-x/providers/Microsoft.OperationalInsights/workspaces/w1?api-version=2022-10-01", sub, nil); r.StatusCode != 404 || errCode(t, body) != "ResourceGroupNotFound" {
		t.Errorf("rg: %d %s", r.StatusCode, body)
	}
	if r, body := v.do(t, http.MethodGet, strings.Replace(wsPath(), testWSName, "ws-other", 1)+"?api-version=2022-10-01", sub, nil); r.StatusCode != 404 || errCode(t, body) != "ResourceNotFound" {
		t.Errorf("workspace: %d %s", r.StatusCode, body)
	}
	v.app(t, "owner", App{ARMRoles: map[string][]string{"/": {"Owner"}}})
	own := v.token(t, "owner", armScope)
	if r, body := v.do(t, http.MethodGet, "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w1?api-version=2022-10-01", own, nil); r.StatusCode != 404 || errCode(t, body) != "SubscriptionNotFound" {
		t.Errorf("subscription: %d %s", r.StatusCode, body)
	}
	r, body := v.do(t, http.MethodPost, wsPath()+"/sharedKeys?api-version=2020-08-01", v.token(t, "keys", armScope), nil)
	if r.StatusCode != 200 || jsonMap(t, body)["primarySharedKey"] != v.ws.SharedKey {
		t.Errorf("sharedKeys: %d %s", r.StatusCode, body)
	}
	if r, _ := v.do(t, http.MethodPost, wsPath()+"/sharedKeys?api-version=2020-08-01", tok, nil); r.StatusCode != 403 {
		t.Errorf("sharedKeys as Sentinel reader: %d", r.StatusCode)
	}
}
