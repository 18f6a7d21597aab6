package sentinel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxQueryBody is Log Analytics' own limit on a query's result.
const maxQueryBody = 64 << 20

// Table is a query's result. Numbers are json.Number, datetimes and
// GUIDs strings, dynamic values JSON text, nulls nil.
type Table struct {
	Name    string
	Columns []Column
	Rows    [][]any
	// Partial is set when Log Analytics answered with part of the result
	// and an error (e.g. a result-size limit): Rows hold what came back.
	Partial *APIError
}

// Column names a column and its Kusto type (string, long, real,
// datetime, dynamic, bool, guid, timespan, decimal, int).
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Query runs a KQL query on a workspace (its id GUID, the customerId).
// timespan is an ISO 8601 duration (PT24H) or start/end pair; empty lets
// the query's own filters decide. It returns the first table, which is
// the query's primary result.
func (c *Client) Query(ctx context.Context, workspaceID, query, timespan string) (Table, error) {
	workspaceID = strings.TrimSpace(workspaceID)
	if !isGUID(workspaceID) {
		return Table{}, fmt.Errorf("query: workspace id %q must be a GUID (the workspace's id, not its name)", workspaceID)
	}
	if strings.TrimSpace(query) == "" {
		return Table{}, errors.New("query is empty")
	}
	what := "run a query on workspace " + workspaceID
	req := request{
		service: ServiceLogAnalytics, what: what, method: http.MethodPost,
		url:   c.ep.LogAnalytics + "/v1/workspaces/" + url.PathEscape(workspaceID) + "/query",
		scope: ScopeLogAnalytics, idempotent: true, maxBody: maxQueryBody,
		permission: RoleLogAnalyticsReader, subject: "workspace " + c.workspaceWords(workspaceID),
		notFound: fmt.Sprintf("workspace %s not found by Log Analytics", workspaceID),
	}
	body := map[string]string{"query": query}
	if timespan != "" {
		body["timespan"] = timespan
	}
	req, err := jsonRequest(req, body)
	if err != nil {
		return Table{}, err
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return Table{}, err
	}
	if resp.status == http.StatusNoContent || len(bytes.TrimSpace(resp.body)) == 0 {
		return Table{Name: "PrimaryResult"}, nil
	}
	var out struct {
		Tables []struct {
			Name    string   `json:"name"`
			Columns []Column `json:"columns"`
			Rows    [][]any  `json:"rows"`
		} `json:"tables"`
		Error json.RawMessage `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(resp.body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return Table{}, fmt.Errorf("%s: Log Analytics' answer is not a result: %w", what, err)
	}
	var t Table
	if len(out.Tables) > 0 {
		t = Table{Name: out.Tables[0].Name, Columns: out.Tables[0].Columns, Rows: out.Tables[0].Rows}
	}
	if e := bytes.TrimSpace(out.Error); len(e) > 0 && !bytes.Equal(e, []byte("null")) {
		code, msg := parseErrorBody(append(append([]byte(`{"error":`), e...), '}'), nil)
		t.Partial = &APIError{Status: resp.status, Code: code, Message: msg, Service: ServiceLogAnalytics, what: what}
		c.log.Warn("Log Analytics returned part of a result", "workspace", workspaceID, "err", t.Partial.Error())
	}
	return t, nil
}

// workspaceWords names a workspace by name when the id is the configured one.
func (c *Client) workspaceWords(id string) string {
	if c.cfg.WorkspaceName != "" && strings.EqualFold(id, strings.TrimSpace(c.cfg.WorkspaceID)) {
		return c.cfg.WorkspaceName
	}
	return id
}
