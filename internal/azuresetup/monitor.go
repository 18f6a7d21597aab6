package azuresetup

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The lifecycle log: the connector writes one row per step of an alert's
// life to this table through the Logs Ingestion API (docs/sentinel.md).
const (
	logTable  = "SIGNL4_CL"
	logStream = "Custom-SIGNL4_CL"
	dcrName   = "lastmile-signl4-dcr"
	// DCR tags: the tool's mark, the app the rule serves, and whether the
	// tool created the table (so --remove-table drops only its own).
	tagSetup        = setupTag
	tagApp          = "lastmile-app"
	tagTableCreated = "lastmile-created-table"
)

// logColumns are the table's and the stream's columns (docs/sentinel.md).
// "Title" is a reserved column name in Log Analytics, so the alert's
// title is AlertTitle.
func logColumns() []column {
	return []column{
		{"TimeGenerated", "datetime"}, {"EventType", "string"}, {"AlertId", "string"}, {"AlertTitle", "string"},
		{"IncidentId", "string"}, {"User", "string"}, {"UserEmail", "string"}, {"Text", "string"}, {"Source", "string"},
	}
}

type column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type table struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		Schema struct {
			Columns []column `json:"columns"`
		} `json:"schema"`
	} `json:"properties"`
}

type dataCollectionRule struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Kind       string            `json:"kind"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		ImmutableID string `json:"immutableId"`
		Endpoints   struct {
			LogsIngestion string `json:"logsIngestion"`
		} `json:"endpoints"`
		Destinations struct {
			LogAnalytics []struct {
				WorkspaceResourceID string `json:"workspaceResourceId"`
			} `json:"logAnalytics"`
		} `json:"destinations"`
	} `json:"properties"`
}

func tableID(workspaceID string) string { return workspaceID + "/tables/" + logTable }

func dcrID(sub, rg string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Insights/dataCollectionRules/" + dcrName
}

// getTable reads the log table; ok is false when there is none.
func (a *armClient) getTable(ctx context.Context, workspaceID string) (table, bool, error) {
	var t table
	_, err := a.api.do(ctx, a.req(http.MethodGet, "read table "+logTable, tableID(workspaceID), workspacesAPIVersion, nil, nil), &t)
	if isStatus(err, http.StatusNotFound, "") {
		return table{}, false, nil
	}
	return t, err == nil, err
}

// putTable creates (or completes) the log table, waiting for an
// asynchronous answer to finish.
func (a *armClient) putTable(ctx context.Context, workspaceID string, sleep func(context.Context, time.Duration) error) error {
	body := map[string]any{"properties": map[string]any{
		"schema":          map[string]any{"name": logTable, "columns": logColumns()},
		"retentionInDays": 30,
	}}
	r := a.req(http.MethodPut, "create table "+logTable, tableID(workspaceID), workspacesAPIVersion, nil, body)
	status, err := a.api.do(ctx, r, nil)
	if err != nil || status != http.StatusAccepted {
		return err
	}
	// 202: the table is made in the background; the rule needs it to
	// exist, so wait for it.
	for try := 1; try <= 10; try++ {
		if _, ok, err := a.getTable(ctx, workspaceID); err != nil || ok {
			return err
		}
		if err := sleep(ctx, backoff(try)); err != nil {
			return err
		}
	}
	return fmt.Errorf("table %s was accepted but did not appear", logTable)
}

func (a *armClient) deleteTable(ctx context.Context, workspaceID string) error {
	_, err := a.api.do(ctx, a.req(http.MethodDelete, "delete table "+logTable, tableID(workspaceID), workspacesAPIVersion, nil, nil), nil)
	return err
}

// getDCR reads a data collection rule; ok is false when there is none.
func (a *armClient) getDCR(ctx context.Context, id string) (dataCollectionRule, bool, error) {
	var d dataCollectionRule
	_, err := a.api.do(ctx, a.req(http.MethodGet, "read data collection rule "+dcrName, id, insightsAPIVersion, nil, nil), &d)
	if isStatus(err, http.StatusNotFound, "") {
		return d, false, nil
	}
	return d, err == nil, err
}

func (a *armClient) dcrsIn(ctx context.Context, sub, rg string) ([]dataCollectionRule, error) {
	return armList[dataCollectionRule](ctx, a, "list the data collection rules of resource group "+rg,
		"/subscriptions/"+sub+"/resourceGroups/"+rg+"/providers/Microsoft.Insights/dataCollectionRules", insightsAPIVersion, url.Values{})
}

// putDCR creates the rule: kind Direct, so it has its own Logs Ingestion
// endpoint and needs no data collection endpoint.
func (a *armClient) putDCR(ctx context.Context, id, location, workspaceID, appID string, tableCreated bool) (dataCollectionRule, error) {
	body := map[string]any{
		"location": location,
		"kind":     "Direct",
		"tags":     map[string]string{tagSetup: "true", tagApp: appID, tagTableCreated: fmt.Sprint(tableCreated)},
		"properties": map[string]any{
			"description":        "lastmile alert lifecycle records (created by lastmile azure setup)",
			"streamDeclarations": map[string]any{logStream: map[string]any{"columns": logColumns()}},
			"destinations":       map[string]any{"logAnalytics": []any{map[string]any{"workspaceResourceId": workspaceID, "name": "workspace"}}},
			"dataFlows": []any{map[string]any{
				"streams": []string{logStream}, "destinations": []string{"workspace"},
				"transformKql": "source", "outputStream": logStream,
			}},
		},
	}
	var d dataCollectionRule
	_, err := a.api.do(ctx, a.req(http.MethodPut, "create data collection rule "+dcrName, id, insightsAPIVersion, nil, body), &d)
	return d, err
}

func (a *armClient) deleteDCR(ctx context.Context, id string) error {
	_, err := a.api.do(ctx, a.req(http.MethodDelete, "delete data collection rule "+idSegment(id, "dataCollectionRules"), id, insightsAPIVersion, nil, nil), nil)
	return err
}

// missingColumns lists the log columns a table lacks.
func missingColumns(t table) []column {
	var out []column
	for _, want := range logColumns() {
		found := false
		for _, c := range t.Properties.Schema.Columns {
			found = found || strings.EqualFold(c.Name, want.Name)
		}
		if !found {
			out = append(out, want)
		}
	}
	return out
}

// ours tells whether a rule carries this tool's tag.
func (d dataCollectionRule) ours() bool { return strings.EqualFold(d.Tags[tagSetup], "true") }
