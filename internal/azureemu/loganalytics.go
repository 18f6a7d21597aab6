package azureemu

import (
	"encoding/json"
	"net/http"
	"strings"
)

// serveQuery is the Log Analytics query API:
// POST|GET /v1/workspaces/{workspaceId}/query.
func (e *Emulator) serveQuery(c *call) {
	segs := strings.Split(strings.Trim(c.r.URL.Path, "/"), "/")
	if len(segs) != 4 || !strings.EqualFold(segs[3], "query") {
		c.laError(http.StatusNotFound, "PathNotFoundError", "The requested path does not exist", nil)
		return
	}
	if c.r.Method != http.MethodPost && c.r.Method != http.MethodGet {
		c.laError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method is not allowed", nil)
		return
	}
	p, f := c.authenticate(svcLogAnalytics)
	switch f {
	case authOK:
	case authMissing:
		c.laError(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", nil)
		return
	case authExpired:
		c.laError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired.", nil)
		return
	case authAudience:
		c.laError(http.StatusForbidden, "InvalidAuthenticationTokenAudience", "The access token has been obtained from wrong audience or resource '"+
			p.claims.Aud+"'. It should exactly match (including forward slash) with one of the allowed audiences 'https://api.loganalytics.io','https://api.loganalytics.azure.com'.", nil)
		return
	default:
		c.laError(http.StatusForbidden, "InvalidAuthenticationToken", "The access token is invalid.", nil)
		return
	}

	query, timespan := c.r.URL.Query().Get("query"), c.r.URL.Query().Get("timespan")
	if c.r.Method == http.MethodPost {
		ct := strings.ToLower(c.r.Header.Get("Content-Type"))
		if !strings.HasPrefix(ct, "application/json") {
			// Documented: a POST without a JSON content type gets 200 and an empty body.
			c.raw(http.StatusOK, "", nil)
			return
		}
		body, err := c.readBody(1 << 20)
		if err != nil {
			c.laError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request is too large", nil)
			return
		}
		var in struct {
			Query      string   `json:"query"`
			Timespan   string   `json:"timespan"`
			Workspaces []string `json:"workspaces"`
		}
		if len(body) == 0 {
			c.raw(http.StatusOK, "", nil)
			return
		}
		if err := json.Unmarshal(body, &in); err != nil {
			c.laError(http.StatusBadRequest, "BadArgumentError", "The request had some invalid properties",
				map[string]any{"code": "InvalidJson", "message": "The request body is not valid JSON: " + err.Error()})
			return
		}
		query = in.Query
		if in.Timespan != "" {
			timespan = in.Timespan
		}
	}
	if strings.TrimSpace(query) == "" {
		c.laError(http.StatusBadRequest, "BadArgumentError", "The request had some invalid properties",
			map[string]any{"code": "SyntaxError", "message": "A query is required"})
		return
	}
	span, err := parseTimespan(timespan, e.now())
	if err != nil {
		c.laError(http.StatusBadRequest, "BadArgumentError", "The request had some invalid properties",
			map[string]any{"code": "InvalidTimespan", "message": "The timespan '" + timespan + "' is invalid: " + err.Error()})
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.st.workspaceByID(segs[2])
	if ws == nil {
		c.laError(http.StatusNotFound, "WorkspaceNotFoundError", "The workspace could not be found",
			map[string]any{"code": "ResourceNotFound", "message": "Workspace '" + segs[2] + "' was not found"})
		return
	}
	if ws.TenantID != "" && !strings.EqualFold(ws.TenantID, p.claims.Tid) {
		c.laError(http.StatusForbidden, "InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer; it must match the workspace's tenant", nil)
		return
	}
	if !e.st.can(p, actionQueryRead, ws.ResourceID()) {
		c.laError(http.StatusForbidden, "InsufficientAccessError", "The provided credentials have insufficient access to perform the requested operation", nil)
		return
	}
	if t, ok := e.st.results[ws][strings.TrimSpace(query)]; ok {
		c.queryResult(t)
		return
	}
	d := e.st.data(ws)
	isPrint := strings.HasPrefix(strings.ToLower(strings.TrimSpace(query)), "print")
	if !isPrint && !d.hasRows() {
		c.empty(http.StatusNoContent)
		return
	}
	res, kerr := runKQL(query, d, span, e.now())
	if kerr != nil {
		c.laError(http.StatusBadRequest, "BadArgumentError", "The request had some invalid properties",
			map[string]any{"code": kerr.code, "message": kerr.msg})
		return
	}
	t := Table{Columns: res.cols}
	for _, row := range res.rows {
		out := make([]any, len(row))
		for i, v := range row {
			out[i] = wireValue(v, res.cols[i].Type)
		}
		t.Rows = append(t.Rows, out)
	}
	c.queryResult(t)
}

func (c *call) queryResult(t Table) {
	cols := t.Columns
	if cols == nil {
		cols = []Column{}
	}
	rows := t.Rows
	if rows == nil {
		rows = [][]any{}
	}
	c.json(http.StatusOK, map[string]any{"tables": []map[string]any{{"name": "PrimaryResult", "columns": cols, "rows": rows}}})
}

// laError writes the Log Analytics error body.
func (c *call) laError(status int, code, msg string, inner map[string]any) {
	body := map[string]any{"code": code, "message": msg, "correlationId": c.reqID}
	if inner != nil {
		body["innererror"] = inner
	}
	c.json(status, map[string]any{"error": body})
}
