package azureemu

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const queryPath = "/v1/workspaces/" + testWSID + "/query"

func TestQueryAuthorization(t *testing.T) {
	v := newEnv(t)
	v.app(t, "la", App{ARMRoles: map[string][]string{wsPath(): {"Log Analytics Reader"}}})
	v.app(t, "sentinel", App{ARMRoles: map[string][]string{"/subscriptions/" + testSub: {"Microsoft Sentinel Responder"}}})
	v.app(t, "custom", App{ARMRoles: map[string][]string{"/subscriptions/" + testSub + "/resourceGroups/" + testRG: {"SIGNL4 Sentinel and Log Analytics Access"}}})
	v.app(t, "none", App{})
	v.emu.AddRole("SIGNL4 Sentinel and Log Analytics Access", []string{
		"Microsoft.OperationalInsights/workspaces/query/read", "Microsoft.OperationalInsights/workspaces/query/*/read", "Microsoft.OperationalInsights/workspaces/read",
	}, nil)
	q := map[string]any{"query": "print 1"}
	cases := []struct {
		name, token string
		status      int
		code        string
	}{
		{"no token", "", 401, "AuthenticationFailed"},
		{"garbage", "a.b.c", 403, "InvalidAuthenticationToken"},
		{"arm audience", v.token(t, "la", armScope), 403, "InvalidAuthenticationTokenAudience"},
		{"no role", v.token(t, "none", laScope), 403, "InsufficientAccessError"},
		{"log analytics reader", v.token(t, "la", laScope), 200, ""},
		{"sentinel responder at subscription", v.token(t, "sentinel", laScope), 200, ""},
		{"custom role", v.token(t, "custom", laScope), 200, ""},
		{"new host audience", v.token(t, "la", "https://api.loganalytics.azure.com/.default"), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := v.do(t, http.MethodPost, queryPath, tc.token, q)
			if r.StatusCode != tc.status || (tc.code != "" && errCode(t, body) != tc.code) {
				t.Fatalf("%d %s", r.StatusCode, body)
			}
		})
	}
	if r, body := v.do(t, http.MethodPost, "/v1/workspaces/00000000-0000-0000-0000-0000000000aa/query", v.token(t, "la", laScope), q); r.StatusCode != 404 || errCode(t, body) != "WorkspaceNotFoundError" {
		t.Errorf("unknown workspace: %d %s", r.StatusCode, body)
	}
}

func TestQueryShapes(t *testing.T) {
	v := newEnv(t)
	v.app(t, "la", App{ARMRoles: map[string][]string{wsPath(): {"Log Analytics Reader"}}})
	tok := v.token(t, "la", laScope)

	// A fresh workspace has no data: table queries answer 204.
	if r, body := v.do(t, http.MethodPost, queryPath, tok, map[string]any{"query": "SecurityAlert | take 1"}); r.StatusCode != 204 || len(body) != 0 {
		t.Fatalf("empty workspace: %d %s", r.StatusCode, body)
	}

	now := v.clk.Now()
	_, err := v.emu.AddIncident(testWSName, Incident{Title: "t", Alerts: []Alert{
		{DisplayName: "old", TimeGenerated: now.Add(-48 * time.Hour)},
		{DisplayName: "new", TimeGenerated: now.Add(-time.Hour), ExtendedProperties: map[string]string{"Query": "x"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	rule := "SigninLogs\n| where ResultType != 0\n| summarize count() by UserPrincipalName"
	if err := v.emu.SetQueryResult(testWSName, rule, Table{
		Columns: []Column{{Name: "UserPrincipalName", Type: "string"}, {Name: "count_", Type: "long"}},
		Rows:    [][]any{{"alex@contoso.com", 12}},
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		body     any
		status   int
		cols     string
		rows     int
		first    any
		errInner string
	}{
		{name: "print", body: map[string]any{"query": "print 1"}, status: 200, cols: "print_0:long", rows: 1, first: float64(1)},
		{name: "print named", body: map[string]any{"query": `print x=1, y="a"`}, status: 200, cols: "x:long,y:string", rows: 1, first: float64(1)},
		{name: "registered", body: map[string]any{"query": "  " + rule + "\n", "timespan": "PT1H"}, status: 200, cols: "UserPrincipalName:string,count_:long", rows: 1, first: "alex@contoso.com"},
		{name: "table", body: map[string]any{"query": "SecurityAlert"}, status: 200, rows: 2},
		{name: "take", body: map[string]any{"query": "SecurityAlert | take 1"}, status: 200, rows: 1},
		{name: "where", body: map[string]any{"query": `SecurityAlert | where DisplayName == "new" | project DisplayName, ExtendedProperties`}, status: 200, cols: "DisplayName:string,ExtendedProperties:string", rows: 1, first: "new"},
		{name: "where contains", body: map[string]any{"query": `SecurityIncident | where Labels !contains "SIGNL4" | count`}, status: 200, cols: "Count:long", rows: 1, first: float64(1)},
		{name: "timespan", body: map[string]any{"query": "SecurityAlert", "timespan": "PT24H"}, status: 200, rows: 1},
		{name: "timespan start/end", body: map[string]any{"query": "SecurityAlert", "timespan": now.Add(-72*time.Hour).Format(time.RFC3339) + "/" + now.Add(-24*time.Hour).Format(time.RFC3339)}, status: 200, rows: 1},
		{name: "order and top", body: map[string]any{"query": "SecurityAlert | top 1 by TimeGenerated asc | project DisplayName"}, status: 200, rows: 1, first: "old"},
		{name: "empty query", body: map[string]any{"query": "  "}, status: 400, errInner: "SyntaxError"},
		{name: "unknown table", body: map[string]any{"query": "NoSuchTable | take 1"}, status: 400, errInner: "SemanticError"},
		{name: "unknown column", body: map[string]any{"query": "SecurityAlert | where Nope == 1"}, status: 400, errInner: "SemanticError"},
		{name: "unsupported operator", body: map[string]any{"query": "SecurityAlert | summarize count()"}, status: 400, errInner: "SemanticError"},
		{name: "bad timespan", body: map[string]any{"query": "print 1", "timespan": "yesterday"}, status: 400, errInner: "InvalidTimespan"},
		{name: "bad json", body: "{", status: 400, errInner: "InvalidJson"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := v.do(t, http.MethodPost, queryPath, tok, tc.body)
			if r.StatusCode != tc.status {
				t.Fatalf("%d %s", r.StatusCode, body)
			}
			m := jsonMap(t, body)
			if tc.status != 200 {
				e := m["error"].(map[string]any)
				if e["code"] != "BadArgumentError" || e["innererror"].(map[string]any)["code"] != tc.errInner {
					t.Fatalf("error %s", body)
				}
				return
			}
			tables := m["tables"].([]any)
			tb := tables[0].(map[string]any)
			if len(tables) != 1 || tb["name"] != "PrimaryResult" {
				t.Fatalf("tables %s", body)
			}
			rows := tb["rows"].([]any)
			if len(rows) != tc.rows {
				t.Fatalf("%d rows, want %d: %s", len(rows), tc.rows, body)
			}
			if tc.cols != "" {
				var cols []string
				for _, c := range tb["columns"].([]any) {
					cm := c.(map[string]any)
					cols = append(cols, cm["name"].(string)+":"+cm["type"].(string))
				}
				if strings.Join(cols, ",") != tc.cols {
					t.Errorf("columns %v, want %s", cols, tc.cols)
				}
			}
			if tc.first != nil && rows[0].([]any)[0] != tc.first {
				t.Errorf("first value %v, want %v", rows[0].([]any)[0], tc.first)
			}
		})
	}

	if r, body := v.do(t, http.MethodPost, queryPath, tok, map[string]any{"query": "print 1"}, "Content-Type", ""); r.StatusCode != 200 || len(body) != 0 {
		t.Errorf("no content type: %d %q", r.StatusCode, body)
	}
	r, body := v.do(t, http.MethodGet, queryPath+"?"+url.Values{"query": {"print 1"}, "timespan": {"P1D"}}.Encode(), tok, nil)
	if r.StatusCode != 200 || !strings.Contains(string(body), "PrimaryResult") {
		t.Errorf("GET query: %d %s", r.StatusCode, body)
	}
}

func TestTimespan(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in         string
		start, end time.Time
		bad        bool
	}{
		{in: "PT12H", start: now.Add(-12 * time.Hour)},
		{in: "P1D", start: now.Add(-24 * time.Hour)},
		{in: "P1DT2H", start: now.Add(-26 * time.Hour)},
		{in: "PT30M", start: now.Add(-30 * time.Minute)},
		{in: "2026-04-01/2026-04-02", start: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), end: time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)},
		{in: "2026-04-01T00:00:00Z/PT1H", start: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), end: time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)},
		{in: "PT1H/2026-04-01T01:00:00Z", start: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), end: time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)},
		{in: "P", bad: true},
		{in: "PT", bad: true},
		{in: "1 day", bad: true},
		{in: "2026-04-02/2026-04-01", bad: true},
	}
	for _, tc := range cases {
		r, err := parseTimespan(tc.in, now)
		if tc.bad {
			if err == nil {
				t.Errorf("%s accepted", tc.in)
			}
			continue
		}
		if err != nil || !r.start.Equal(tc.start) || (!tc.end.IsZero() && !r.end.Equal(tc.end)) {
			t.Errorf("%s: %v %v %v", tc.in, r.start, r.end, err)
		}
	}
}
