package azureemu

import (
	"net/http"
	"strings"
	"testing"
)

const (
	tablesAPI = "?api-version=2022-10-01"
	dcrAPI    = "?api-version=2023-03-11"
)

func tablePath(name string) string { return wsPath() + "/tables/" + name }

func dcrPath(name string) string {
	return subScope + "/resourceGroups/" + testRG + "/providers/Microsoft.Insights/dataCollectionRules/" + name
}

func dcePath(name string) string {
	return subScope + "/resourceGroups/" + testRG + "/providers/Microsoft.Insights/dataCollectionEndpoints/" + name
}

func tableBodyWith(cols ...map[string]any) map[string]any {
	list := []any{map[string]any{"name": "TimeGenerated", "type": "datetime"}}
	for _, c := range cols {
		list = append(list, c)
	}
	return map[string]any{"properties": map[string]any{"schema": map[string]any{"columns": list}, "retentionInDays": 30}}
}

func col(name, typ string) map[string]any { return map[string]any{"name": name, "type": typ} }

func TestTables(t *testing.T) {
	v := provEnv(t)
	_, arm := v.adminTokens(t, adminUPN)
	st, tb := v.call(t, http.MethodPut, tablePath("LastmileEvents_CL")+tablesAPI, arm, tableBodyWith(col("EventId", "string"), col("Payload", "dynamic"), col("Ok", "boolean")))
	if st != 200 {
		t.Fatalf("create: %d %v", st, tb)
	}
	schema := tb["properties"].(map[string]any)["schema"].(map[string]any)
	if schema["tableSubType"] != "DataCollectionRuleBased" || len(schema["columns"].([]any)) != 4 || tb["properties"].(map[string]any)["retentionInDays"] != float64(30) {
		t.Fatalf("table %v", tb)
	}
	cols, err := v.emu.TableColumns(testWSName, "LastmileEvents_CL")
	if err != nil || len(cols) != 4 || cols[0] != (Column{Name: "TimeGenerated", Type: "datetime"}) || cols[3].Type != "bool" {
		t.Fatalf("TableColumns %v %v", cols, err)
	}
	if st, _ := v.call(t, http.MethodGet, tablePath("LastmileEvents_CL")+tablesAPI, arm, nil); st != 200 {
		t.Fatalf("GET: %d", st)
	}
	// Adding a column is fine; changing a type is not.
	if st, body := v.call(t, http.MethodPut, tablePath("LastmileEvents_CL")+tablesAPI, arm, tableBodyWith(col("EventId", "string"), col("Severity", "string"))); st != 200 {
		t.Fatalf("add column: %d %v", st, body)
	}
	cases := []struct {
		name, table string
		body        any
	}{
		{"type change", "LastmileEvents_CL", tableBodyWith(col("EventId", "int"))},
		{"no _CL", "LastmileEvents", tableBodyWith(col("EventId", "string"))},
		{"no TimeGenerated", "Other_CL", map[string]any{"properties": map[string]any{"schema": map[string]any{"columns": []any{col("EventId", "string")}}}}},
		{"reserved column", "Other_CL", tableBodyWith(col("TenantId", "string"))},
		{"bad column name", "Other_CL", tableBodyWith(col("1st", "string"))},
		{"bad type", "Other_CL", tableBodyWith(col("EventId", "text"))},
		{"duplicate column", "Other_CL", tableBodyWith(col("EventId", "string"), col("eventid", "string"))},
		{"schema name mismatch", "Other_CL", func() any {
			b := tableBodyWith()
			b["properties"].(map[string]any)["schema"].(map[string]any)["name"] = "LastmileEvents_CL"
			return b
		}()},
		{"no schema", "Other_CL", map[string]any{"properties": map[string]any{"retentionInDays": 30}}},
		{"bad retention", "Other_CL", func() any { b := tableBodyWith(); b["properties"].(map[string]any)["retentionInDays"] = 2; return b }()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := v.call(t, http.MethodPut, tablePath(tc.table)+tablesAPI, arm, tc.body)
			if code, _ := errOf(body); st != 400 || code != "InvalidParameter" {
				t.Fatalf("got %d %v", st, body)
			}
		})
	}

	// The async flavour: 202 and an operation that reports success.
	v.emu.SetAsyncTables(true)
	resp, body := v.do(t, http.MethodPut, tablePath("Async_CL")+tablesAPI, arm, tableBodyWith(col("EventId", "string")))
	op := resp.Header.Get("Azure-AsyncOperation")
	if resp.StatusCode != 202 || op == "" {
		t.Fatalf("async PUT: %d %s", resp.StatusCode, body)
	}
	if st, status := v.call(t, http.MethodGet, op, arm, nil); st != 200 || status["status"] != "Succeeded" {
		t.Fatalf("operation: %d %v", st, status)
	}
	v.emu.SetAsyncTables(false)
	if st, _ := v.call(t, http.MethodDelete, tablePath("Async_CL")+tablesAPI, arm, nil); st != 200 {
		t.Fatalf("DELETE: %d", st)
	}
	if st, _ := v.call(t, http.MethodGet, tablePath("Async_CL")+tablesAPI, arm, nil); st != 404 {
		t.Fatalf("GET after DELETE: %d", st)
	}

	// Sentinel Responder may not create tables.
	v.user(t, "analyst@contoso.com")
	if err := v.emu.GrantUserARMRole(testTenant, "analyst@contoso.com", wsPath(), "Microsoft Sentinel Responder"); err != nil {
		t.Fatal(err)
	}
	_, analyst := v.adminTokens(t, "analyst@contoso.com")
	if st, body := v.call(t, http.MethodPut, tablePath("Other_CL")+tablesAPI, analyst, tableBodyWith()); st != 403 {
		t.Fatalf("responder creating a table: %d %v", st, body)
	}
}

func dcrBodyFor(kind string) map[string]any {
	b := map[string]any{
		"location": "westeurope",
		"properties": map[string]any{
			"streamDeclarations": map[string]any{"Custom-LastmileEvents": map[string]any{"columns": []any{
				col("TimeGenerated", "datetime"), col("EventId", "string")}}},
			"destinations": map[string]any{"logAnalytics": []any{map[string]any{"workspaceResourceId": wsPath(), "name": "la"}}},
			"dataFlows": []any{map[string]any{"streams": []any{"Custom-LastmileEvents"}, "destinations": []any{"la"},
				"transformKql": "source", "outputStream": "Custom-LastmileEvents_CL"}},
		},
	}
	if kind != "" {
		b["kind"] = kind
	}
	return b
}

// TestDataCollection provisions Logs Ingestion the way setup does and
// sends data with the provisioned app: table, DCR (kind Direct), then
// Monitoring Metrics Publisher on the DCR.
func TestDataCollection(t *testing.T) {
	v := provEnv(t)
	graphTok, arm := v.adminTokens(t, adminUPN)
	if st, body := v.call(t, http.MethodPut, dcrPath("lastmile-dcr")+dcrAPI, arm, dcrBodyFor("Direct")); st != 400 ||
		!strings.Contains(bodyString(body), "InvalidOutputTable") {
		t.Fatalf("DCR before its table: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodPut, tablePath("LastmileEvents_CL")+tablesAPI, arm, tableBodyWith(col("EventId", "string"))); st != 200 {
		t.Fatalf("table: %d %v", st, body)
	}
	st, dcr := v.call(t, http.MethodPut, dcrPath("lastmile-dcr")+dcrAPI, arm, dcrBodyFor("Direct"))
	if st != 201 {
		t.Fatalf("DCR: %d %v", st, dcr)
	}
	props := dcr["properties"].(map[string]any)
	immutable, _ := props["immutableId"].(string)
	endpoint, _ := props["endpoints"].(map[string]any)["logsIngestion"].(string)
	if !strings.HasPrefix(immutable, "dcr-") || len(immutable) != 36 || endpoint != v.emu.URL() || dcr["kind"] != "Direct" {
		t.Fatalf("DCR answer %v", dcr)
	}
	if st, again := v.call(t, http.MethodPut, dcrPath("lastmile-dcr")+dcrAPI, arm, dcrBodyFor("Direct")); st != 200 ||
		again["properties"].(map[string]any)["immutableId"] != immutable {
		t.Fatalf("re-PUT keeps the immutable id: %d %v", st, again)
	}

	p := v.provision(t, graphTok, "connector")
	_, mon := v.appToken(t, p, monScope)
	monTok := mon["access_token"].(string)
	ingest := func() int {
		st, _ := v.call(t, http.MethodPost, "/dataCollectionRules/"+immutable+"/streams/Custom-LastmileEvents?api-version=2023-01-01", monTok,
			[]any{map[string]any{"EventId": "e-1"}})
		return st
	}
	if st := ingest(); st != 403 {
		t.Fatalf("ingest without Monitoring Metrics Publisher: %d", st)
	}
	// Owner on the resource group is not enough: ingestion is a data action.
	if st, body := v.assign(t, arm, subScope+"/resourceGroups/"+testRG, "8e0f0a20-0000-4000-8000-000000000001", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", p.spID, "ServicePrincipal"); st != 201 {
		t.Fatalf("owner: %d %v", st, body)
	}
	if st := ingest(); st != 403 {
		t.Fatalf("ingest as Owner: %d", st)
	}
	if st, body := v.assign(t, arm, dcrPath("lastmile-dcr"), "8e0f0a20-0000-4000-8000-000000000002", publisherRole, p.spID, "ServicePrincipal"); st != 201 {
		t.Fatalf("publisher on the DCR: %d %v", st, body)
	}
	if st := ingest(); st != 204 {
		t.Fatalf("ingest with Monitoring Metrics Publisher: %d", st)
	}
	rows, err := v.emu.Rows(testWSName, "LastmileEvents_CL")
	if err != nil || len(rows) != 1 || rows[0]["EventId"] != "e-1" {
		t.Fatalf("rows %v %v", rows, err)
	}
	if got := v.emu.DataCollectionRules(); len(got) != 1 || got[0].ImmutableID != immutable || got[0].Streams["Custom-LastmileEvents"] != "LastmileEvents_CL" || got[0].Workspace != wsPath() {
		t.Fatalf("DataCollectionRules %+v", got)
	}

	// Deleting the rule stops ingestion through it.
	if st, _ := v.call(t, http.MethodDelete, dcrPath("lastmile-dcr")+dcrAPI, arm, nil); st != 200 {
		t.Fatalf("DELETE: %d", st)
	}
	if st := ingest(); st != 404 {
		t.Fatalf("ingest after DELETE: %d", st)
	}
	if st, _ := v.call(t, http.MethodDelete, dcrPath("lastmile-dcr")+dcrAPI, arm, nil); st != 204 {
		t.Fatalf("DELETE again: %d", st)
	}
}

func bodyString(m map[string]any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		case string:
			b.WriteString(x + " ")
		}
	}
	walk(m)
	return b.String()
}

func TestDataCollectionValidation(t *testing.T) {
	v := provEnv(t)
	_, arm := v.adminTokens(t, adminUPN)
	if st, body := v.call(t, http.MethodPut, tablePath("LastmileEvents_CL")+tablesAPI, arm, tableBodyWith(col("EventId", "string"))); st != 200 {
		t.Fatalf("table: %d %v", st, body)
	}
	edit := func(f func(b map[string]any, p map[string]any)) map[string]any {
		b := dcrBodyFor("Direct")
		f(b, b["properties"].(map[string]any))
		return b
	}
	cases := []struct {
		name   string
		body   map[string]any
		code   string
		detail string
	}{
		{"destination name mismatch", edit(func(_, p map[string]any) {
			p["dataFlows"].([]any)[0].(map[string]any)["destinations"] = []any{"myworkspace"}
		}), "InvalidPayload", "InvalidDataFlowDestination"},
		{"undeclared stream", edit(func(_, p map[string]any) {
			p["dataFlows"].([]any)[0].(map[string]any)["streams"] = []any{"Custom-Other"}
		}), "InvalidPayload", "InvalidDataFlowStream"},
		{"unknown workspace", edit(func(_, p map[string]any) {
			p["destinations"].(map[string]any)["logAnalytics"].([]any)[0].(map[string]any)["workspaceResourceId"] = wsPath() + "x"
		}), "InvalidPayload", "InvalidWorkspaceResourceId"},
		{"other region", edit(func(b, _ map[string]any) { b["location"] = "eastus" }), "InvalidPayload", "InvalidDestinationLocation"},
		{"bad output stream", edit(func(_, p map[string]any) {
			p["dataFlows"].([]any)[0].(map[string]any)["outputStream"] = "LastmileEvents_CL"
		}), "InvalidPayload", "InvalidOutputStream"},
		{"stream not Custom-", edit(func(_, p map[string]any) {
			p["streamDeclarations"] = map[string]any{"LastmileEvents": map[string]any{"columns": []any{col("TimeGenerated", "datetime")}}}
		}), "InvalidPayload", "InvalidStreamDeclaration"},
		{"kind with a space", dcrBodyFor(" Direct"), "InvalidPayload", ""},
		{"no location", edit(func(b, _ map[string]any) { delete(b, "location") }), "LocationRequired", ""},
		{"unknown DCE", edit(func(_, p map[string]any) { p["dataCollectionEndpointId"] = dcePath("nope") }), "InvalidPayload", "InvalidDataCollectionEndpointId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := v.call(t, http.MethodPut, dcrPath("bad-dcr")+dcrAPI, arm, tc.body)
			if code, _ := errOf(body); st != 400 || code != tc.code || !strings.Contains(bodyString(body), tc.detail) {
				t.Fatalf("got %d %v", st, body)
			}
		})
	}
	if len(v.emu.DataCollectionRules()) != 0 {
		t.Fatal("a refused DCR was stored")
	}

	// A rule made without kind Direct cannot gain endpoints later.
	if st, body := v.call(t, http.MethodPut, dcrPath("plain")+dcrAPI, arm, dcrBodyFor("")); st != 201 || body["properties"].(map[string]any)["endpoints"] != nil {
		t.Fatalf("plain DCR: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodPut, dcrPath("plain")+dcrAPI, arm, dcrBodyFor("Direct")); st != 400 {
		t.Fatalf("adding endpoints: %d %v", st, body)
	}

	// Through a DCE instead.
	st, dce := v.call(t, http.MethodPut, dcePath("lastmile-dce")+dcrAPI, arm, map[string]any{"location": "westeurope",
		"properties": map[string]any{"networkAcls": map[string]any{"publicNetworkAccess": "Enabled"}}})
	if st != 201 || !strings.HasPrefix(dce["properties"].(map[string]any)["immutableId"].(string), "dce-") ||
		dce["properties"].(map[string]any)["logsIngestion"].(map[string]any)["endpoint"] != v.emu.URL() {
		t.Fatalf("DCE: %d %v", st, dce)
	}
	if st, body := v.call(t, http.MethodPut, dcePath("lastmile-dce")+dcrAPI, arm, map[string]any{"location": "eastus"}); st != 400 {
		t.Fatalf("moving the DCE: %d %v", st, body)
	}
	viaDCE := dcrBodyFor("")
	viaDCE["properties"].(map[string]any)["dataCollectionEndpointId"] = dce["id"]
	if st, body := v.call(t, http.MethodPut, dcrPath("via-dce")+dcrAPI, arm, viaDCE); st != 201 {
		t.Fatalf("DCR via DCE: %d %v", st, body)
	}
	if st, body := v.call(t, http.MethodDelete, dcePath("lastmile-dce")+dcrAPI, arm, nil); st != 409 {
		t.Fatalf("deleting a DCE in use: %d %v", st, body)
	}
	if st, l := v.call(t, http.MethodGet, subScope+"/resourceGroups/"+testRG+"/providers/Microsoft.Insights/dataCollectionRules"+dcrAPI, arm, nil); st != 200 || len(l["value"].([]any)) != 2 {
		t.Fatalf("list DCRs: %d %v", st, l)
	}
	if st, body := v.call(t, http.MethodGet, dcrPath("lastmile-dcr")+"?api-version=2019-01-01", arm, nil); st != 400 {
		t.Fatalf("bad api-version: %d %v", st, body)
	}
}
