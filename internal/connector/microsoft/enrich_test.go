package microsoft_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/connector"
)

const ruleQuery = "SigninLogs | where ResultType != 0 | summarize Failed = count() by UserPrincipalName"

// enrichIncident adds an incident with two alerts (the first from a
// scheduled rule whose query is query) and three entities.
func enrichIncident(t *testing.T, e *env, query string) azureemu.Incident {
	t.Helper()
	now := e.clock.Now()
	inc, err := e.emu.AddIncident(wsName, azureemu.Incident{
		Title: "Brute force", Severity: "High",
		Alerts: []azureemu.Alert{
			{DisplayName: "Failed sign-ins", Severity: "High", ProductName: "Azure Sentinel", CompromisedEntity: "web01",
				ExtendedProperties: map[string]string{
					azureemu.AlertPropQuery:          query,
					azureemu.AlertPropQueryStartTime: now.Add(-time.Hour).Format(time.RFC3339),
					azureemu.AlertPropQueryEndTime:   now.Format(time.RFC3339),
					azureemu.AlertPropRuleName:       "Brute force rule",
				}},
			{DisplayName: "Mass download", Severity: "Medium", ProductName: "Microsoft Defender for Cloud Apps"},
		},
		Entities: []azureemu.Entity{
			{Kind: "Host", Properties: map[string]any{"hostName": "web01", "friendlyName": "web01"}},
			{Kind: "Account", Properties: map[string]any{"accountName": "alice", "friendlyName": "alice"}},
			{Name: "ip-1", Kind: "Ip", Properties: map[string]any{"address": "10.0.0.1"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// itemFor reads the incident through Changes, as the connector would
// before enriching it.
func itemFor(t *testing.T, src connector.Source, name string) connector.Item {
	t.Helper()
	items, err := src.Changes(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	it, ok := byID(items)[name]
	if !ok {
		t.Fatalf("no item %s in %+v", name, items)
	}
	return it
}

func TestEnrichLinkedAlertsAndEntities(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	inc := enrichIncident(t, e, ruleQuery)
	src := e.source(t, "sentinel", nil) // no augment: no query runs
	it := itemFor(t, src, inc.Name)
	before := len(it.Params)
	if err := src.Enrich(context.Background(), &it); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Alert 1":        "Failed sign-ins (Azure Sentinel, High)",
		"Alert 1 entity": "web01",
		"Alert 2":        "Mass download (Microsoft Defender for Cloud Apps, Medium)",
		"Entities":       "Account: alice; Host: web01; Ip: ip-1",
	}
	for name, v := range want {
		if got, _ := param(it.Params, name); got != v {
			t.Errorf("param %s = %q, want %q", name, got, v)
		}
	}
	if _, ok := param(it.Params, "Alert 2 entity"); ok {
		t.Error("an entity param for an alert without a compromised entity")
	}
	if len(it.Params) != before+len(want) {
		t.Errorf("%d params added, want %d: %+v", len(it.Params)-before, len(want), it.Params[before:])
	}
	if len(it.Attachments) != 0 {
		t.Errorf("attachments without augment: %+v", it.Attachments)
	}
	if n := e.emu.Requests(); slicesContainsAPI(n, azureemu.APILogAnalytics) {
		t.Error("a query ran without augment")
	}
}

// workspaceReads counts the ARM reads of the workspace itself.
func workspaceReads(e *env) int {
	n := 0
	for _, r := range e.emu.Requests() {
		if r.Method == "GET" && strings.HasSuffix(r.Path, "/workspaces/"+wsName) {
			n++
		}
	}
	return n
}

func slicesContainsAPI(rs []azureemu.Request, api string) bool {
	for _, r := range rs {
		if r.API == api {
			return true
		}
	}
	return false
}

func TestEnrichAugmentsWithRuleQueryResults(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	inc := enrichIncident(t, e, ruleQuery)
	if err := e.emu.SetQueryResult(wsName, ruleQuery, azureemu.Table{
		Columns: []azureemu.Column{{Name: "UserPrincipalName", Type: "string"}, {Name: "Failed", Type: "long"}, {Name: "Note", Type: "string"}},
		Rows:    [][]any{{"bob@contoso.com", 31, "has, comma"}, {"ann@contoso.com", 4, nil}},
	}); err != nil {
		t.Fatal(err)
	}
	// No workspaceId: the source reads it from the workspace once.
	src := e.source(t, "sentinel", map[string]any{"augment": true})
	it := itemFor(t, src, inc.Name)
	if err := src.Enrich(context.Background(), &it); err != nil {
		t.Fatal(err)
	}
	if got, _ := param(it.Params, "Alert 1 query results"); got != "2 rows (attached)" {
		t.Errorf("query results param = %q", got)
	}
	if got, _ := param(it.Params, "Alert 1 query"); got != ruleQuery {
		t.Errorf("query param = %q", got)
	}
	if _, ok := param(it.Params, "Alert 2 query results"); ok {
		t.Error("results for an alert without a rule query")
	}
	if len(it.Attachments) != 1 {
		t.Fatalf("attachments = %+v", it.Attachments)
	}
	a := it.Attachments[0]
	want := "UserPrincipalName,Failed,Note\nbob@contoso.com,31,\"has, comma\"\nann@contoso.com,4,\n"
	if a.Name != "alert-1-query-results.csv" || a.ContentType != "text/csv" || string(a.Data) != want {
		t.Errorf("attachment %s (%s):\n%s\nwant:\n%s", a.Name, a.ContentType, a.Data, want)
	}
	if got, _ := param(it.Params, "Entities"); got == "" {
		t.Error("entities left out when augmenting")
	}

	// The workspace id is read once, not per enrichment.
	it2 := itemFor(t, src, inc.Name)
	if err := src.Enrich(context.Background(), &it2); err != nil {
		t.Fatal(err)
	}
	if n := workspaceReads(e); n != 1 {
		t.Errorf("workspace read %d times, want once", n)
	}
}

func TestEnrichCapsAttachedRows(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	inc := enrichIncident(t, e, ruleQuery)
	tab := azureemu.Table{Columns: []azureemu.Column{{Name: "N", Type: "long"}}}
	for i := range 150 {
		tab.Rows = append(tab.Rows, []any{i})
	}
	if err := e.emu.SetQueryResult(wsName, ruleQuery, tab); err != nil {
		t.Fatal(err)
	}
	src := e.source(t, "sentinel", map[string]any{"augment": true, "workspaceId": wsID})
	it := itemFor(t, src, inc.Name)
	if err := src.Enrich(context.Background(), &it); err != nil {
		t.Fatal(err)
	}
	if got, _ := param(it.Params, "Alert 1 query results"); got != "150 rows (first 100 attached)" {
		t.Errorf("query results param = %q", got)
	}
	if len(it.Attachments) != 1 {
		t.Fatalf("attachments = %+v", it.Attachments)
	}
	lines := strings.Split(strings.TrimSuffix(string(it.Attachments[0].Data), "\n"), "\n")
	if len(lines) != 101 || lines[0] != "N" || lines[100] != "99" {
		t.Errorf("%d lines (first %q, last %q), want the header and 100 rows", len(lines), lines[0], lines[len(lines)-1])
	}
	if n := workspaceReads(e); n != 0 {
		t.Errorf("workspace read %d times though its id is configured", n)
	}
}

func TestEnrichEmptyQueryResult(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	inc := enrichIncident(t, e, ruleQuery)
	if err := e.emu.SetQueryResult(wsName, ruleQuery, azureemu.Table{Columns: []azureemu.Column{{Name: "N", Type: "long"}}}); err != nil {
		t.Fatal(err)
	}
	src := e.source(t, "sentinel", map[string]any{"augment": true, "workspaceId": wsID})
	it := itemFor(t, src, inc.Name)
	if err := src.Enrich(context.Background(), &it); err != nil {
		t.Fatal(err)
	}
	if got, _ := param(it.Params, "Alert 1 query results"); got != "0 rows" {
		t.Errorf("query results param = %q", got)
	}
	if len(it.Attachments) != 0 {
		t.Errorf("an attachment for no rows: %+v", it.Attachments)
	}
}

func TestEnrichFailingQueryKeepsTheRest(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	inc := enrichIncident(t, e, "NoSuchTable | take 5")
	src := e.source(t, "sentinel", map[string]any{"augment": true, "workspaceId": wsID})
	it := itemFor(t, src, inc.Name)
	err := src.Enrich(context.Background(), &it)
	if err == nil {
		t.Fatal("a failing rule query was not reported")
	}
	if !strings.Contains(err.Error(), "Brute force rule") || !strings.Contains(err.Error(), "BadArgumentError") {
		t.Errorf("err = %v, want the rule and Log Analytics' refusal named", err)
	}
	for _, name := range []string{"Alert 1", "Alert 2", "Alert 1 entity", "Entities"} {
		if v, ok := param(it.Params, name); !ok || v == "" {
			t.Errorf("param %s missing after the query failed: %+v", name, it.Params)
		}
	}
	if _, ok := param(it.Params, "Alert 1 query results"); ok || len(it.Attachments) != 0 {
		t.Errorf("results for a failed query: %+v %+v", it.Params, it.Attachments)
	}
}

func TestEnrichWithoutQueryRights(t *testing.T) {
	// A custom role that reads incidents but may not query the workspace.
	e := newEnv(t, azureemu.App{})
	e.emu.AddRole("Incident reader", []string{"Microsoft.SecurityInsights/*/read", "Microsoft.SecurityInsights/incidents/*/action",
		"Microsoft.OperationalInsights/workspaces/read"}, nil)
	if err := e.emu.GrantARMRole(tenant, client, wsResourceID, "Incident reader"); err != nil {
		t.Fatal(err)
	}
	inc := enrichIncident(t, e, ruleQuery)
	src := e.source(t, "sentinel", map[string]any{"augment": true, "workspaceId": wsID})
	it := itemFor(t, src, inc.Name)
	err := src.Enrich(context.Background(), &it)
	if err == nil || !strings.Contains(err.Error(), "Log Analytics") {
		t.Errorf("err = %v, want Log Analytics' refusal", err)
	}
	if _, ok := param(it.Params, "Alert 1"); !ok {
		t.Error("linked alerts lost when the query is refused")
	}
}

func TestEnrichGraphModesAddNothing(t *testing.T) {
	e := newEnv(t, graphApp("SecurityIncident.Read.All"))
	src := e.source(t, "graph_incidents", nil)
	it := connector.Item{ExternalID: "1", Params: nil}
	if err := src.Enrich(context.Background(), &it); err != nil || len(it.Params) != 0 {
		t.Errorf("enrich = %v, params %+v", err, it.Params)
	}
	if len(e.emu.Requests()) != 0 {
		t.Errorf("requests %+v", e.emu.Requests())
	}
}

func TestEnrichUnknownIncident(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	src := e.source(t, "sentinel", nil)
	it := connector.Item{ExternalID: "00000000-0000-0000-0000-000000000009"}
	err := src.Enrich(context.Background(), &it)
	if err == nil || !strings.Contains(err.Error(), "linked alerts") || !strings.Contains(err.Error(), "not found") {
		t.Errorf("err = %v", err)
	}

}
