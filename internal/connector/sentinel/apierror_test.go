package sentinel

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestAPIErrorsInPlainWords(t *testing.T) {
	wsPath := "/subscriptions/" + testSub + "/resourceGroups/" + testRG + "/providers/Microsoft.OperationalInsights/workspaces/" + testWS
	tests := []struct {
		name     string
		pattern  string
		status   int
		body     string
		call     func(*Client) error
		want     string
		wantPerm string
	}{
		{
			name: "sentinel write without role", pattern: "PUT " + incidentsPath + "/{id}/comments/{cid}", status: 403,
			body: `{"error":{"code":"AuthorizationFailed","message":"The client '2222' with object id '5555' does not have authorization to perform action 'Microsoft.SecurityInsights/incidents/comments/write' over scope '/subscriptions/x' or the scope is invalid. If access was recently granted, please refresh your credentials."}}`,
			call: func(c *Client) error { return c.AddIncidentComment(context.Background(), "inc-1", "hi") },
			want: "Sentinel refused: the app lacks the 'Microsoft Sentinel Responder' role on workspace soc-ws (403 AuthorizationFailed)", wantPerm: RoleSentinelResponder,
		},
		{
			name: "sentinel read without role", pattern: "GET " + incidentsPath, status: 403,
			body: `{"error":{"code":"AuthorizationFailed","message":"The client 'x' does not have authorization to perform action 'Microsoft.SecurityInsights/incidents/read' over scope 'y'."}}`,
			call: func(c *Client) error { _, err := c.ListIncidents(context.Background(), IncidentQuery{}); return err },
			want: "Sentinel refused: the app lacks the 'Microsoft Sentinel Reader' role on workspace soc-ws (403 AuthorizationFailed)", wantPerm: RoleSentinelReader,
		},
		{
			name: "graph without permission", pattern: "PATCH /v1.0/security/incidents/{id}", status: 403,
			body: `{"error":{"code":"Forbidden","message":"Missing application roles. API required roles: SecurityIncident.ReadWrite.All.","innerError":{"date":"2026-03-04T08:00:00","request-id":"r"}}}`,
			call: func(c *Client) error {
				s := "resolved"
				_, err := c.UpdateGraphIncident(context.Background(), "7", GraphIncidentPatch{Status: &s})
				return err
			},
			want: "Graph refused: missing application permission SecurityIncident.ReadWrite.All (403 Forbidden)", wantPerm: PermIncidentReadWrite,
		},
		{
			name: "graph 403 naming nothing", pattern: "GET /v1.0/security/alerts_v2", status: 403,
			body: `{"error":{"code":"Forbidden","message":"Insufficient privileges to complete the operation.","innererror":{"request-id":"r"}}}`,
			call: func(c *Client) error { _, err := c.ListAlertsV2(context.Background(), time.Time{}, nil); return err },
			want: "Graph refused: missing application permission SecurityAlert.Read.All (403 Forbidden)", wantPerm: PermAlertRead,
		},
		{
			name: "workspace not found", pattern: "GET " + wsPath, status: 404,
			body: `{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.OperationalInsights/workspaces/soc-ws' under resource group 'soc-rg' was not found."}}`,
			call: func(c *Client) error { _, err := c.Workspace(context.Background()); return err },
			want: "workspace soc-ws not found in resource group soc-rg (404 ResourceNotFound)",
		},
		{
			name: "incident lookup on missing workspace", pattern: "GET " + incidentsPath + "/{id}", status: 404,
			body: `{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.OperationalInsights/workspaces/soc-ws' under resource group 'soc-rg' was not found."}}`,
			call: func(c *Client) error { _, err := c.GetIncident(context.Background(), "inc-1"); return err },
			want: "workspace soc-ws not found in resource group soc-rg (404 ResourceNotFound)",
		},
		{
			name: "incident not found", pattern: "GET " + incidentsPath + "/{id}", status: 404,
			body: `{"error":{"code":"NotFound","message":"Incident not found"}}`,
			call: func(c *Client) error { _, err := c.GetIncident(context.Background(), "inc-9"); return err },
			want: "incident inc-9 not found in workspace soc-ws (404 NotFound)",
		},
		{
			name: "resource group not found", pattern: "GET " + incidentsPath, status: 404,
			body: `{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'soc-rg' could not be found."}}`,
			call: func(c *Client) error { _, err := c.ListIncidents(context.Background(), IncidentQuery{}); return err },
			want: "resource group soc-rg not found in subscription " + testSub + " (404 ResourceGroupNotFound)",
		},
		{
			name: "wrong tenant for subscription", pattern: "GET " + incidentsPath, status: 401,
			body: `{"error":{"code":"InvalidAuthenticationTokenTenant","message":"The access token is from the wrong issuer."}}`,
			call: func(c *Client) error { _, err := c.ListIncidents(context.Background(), IncidentQuery{}); return err },
			want: "Sentinel rejected the app's token: the subscription or workspace belongs to another tenant than the one configured (401 InvalidAuthenticationTokenTenant)",
		},
		{
			name: "log analytics without role", pattern: "POST /v1/workspaces/{id}/query", status: 403,
			body: `{"error":{"message":"The provided credentials have insufficient access to perform the requested operation","code":"InsufficientAccessError"}}`,
			call: func(c *Client) error { _, err := c.Query(context.Background(), testWSID, "print 1", ""); return err },
			want: "Log Analytics refused: the app lacks the 'Log Analytics Reader' role on workspace soc-ws (403 InsufficientAccessError)", wantPerm: RoleLogAnalyticsReader,
		},
		{
			name: "log analytics token audience", pattern: "POST /v1/workspaces/{id}/query", status: 403,
			body: `{"error":{"code":"InvalidAuthenticationTokenAudience","message":"The access token has been obtained from wrong audience or resource."}}`,
			call: func(c *Client) error { _, err := c.Query(context.Background(), testWSID, "print 1", ""); return err },
			want: "Log Analytics rejected the app's token: it was issued for another service (403 InvalidAuthenticationTokenAudience)",
		},
		{
			name: "log analytics syntax error", pattern: "POST /v1/workspaces/{id}/query", status: 400,
			body: `{"error":{"message":"The request had some invalid properties","code":"BadArgumentError","correlationId":"c","innererror":{"code":"SyntaxError","message":"A recognition error occurred in the query.","innererror":{"code":"SYN0002","message":"Query could not be parsed at 'x' on line [1,6]"}}}}`,
			call: func(c *Client) error { _, err := c.Query(context.Background(), testWSID, "take x", ""); return err },
			want: "Log Analytics refused to run a query on workspace " + testWSID + ": The request had some invalid properties: Query could not be parsed at 'x' on line [1,6] (400 BadArgumentError)",
		},
		{
			name: "ingestion without role", pattern: "POST /dataCollectionRules/{dcr}/streams/{stream}", status: 403,
			body: `{"error":{"code":"OperationFailed","message":"The authentication token provided does not have access to ingest data for the data collection rule with immutable Id 'dcr-1'."}}`,
			call: func(c *Client) error {
				return c.Upload(context.Background(), c.ep.Graph, "dcr-1", "Custom-Lastmile", []map[string]any{{"a": 1}})
			},
			want: "Logs Ingestion refused: the app lacks the 'Monitoring Metrics Publisher' role on data collection rule dcr-1 (403 OperationFailed)", wantPerm: RoleMonitoringPublisher,
		},
		{
			name: "data collector bad signature", pattern: "POST /api/logs", status: 403,
			body: `{"Error":"InvalidAuthorization","Message":"An invalid signature was specified in the Authorization header"}`,
			call: func(c *Client) error {
				return c.PostDataCollector(context.Background(), c.ep.Graph, testWSID, "c2VjcmV0", "SIGNL4", []map[string]any{{"a": 1}}, "")
			},
			want: "Data Collector refused: the workspace id or shared key is wrong (InvalidAuthorization means the signature did not match) (403 InvalidAuthorization)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAzure(t)
			f.handle(tt.pattern, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, tt.status, tt.body) })
			c, _ := f.client()
			err := tt.call(c)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want an *APIError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("Error()\n got %q\nwant %q", err, tt.want)
			}
			if ae.Permission != tt.wantPerm || ae.Status != tt.status {
				t.Errorf("Permission, Status = %q, %d; want %q, %d", ae.Permission, ae.Status, tt.wantPerm, tt.status)
			}
		})
	}
}

func TestParseErrorBodyShapes(t *testing.T) {
	tests := []struct {
		body, header, code, msg string
	}{
		{`{"error":{"code":"Conflict","message":"Newer version exists."}}`, "", "Conflict", "Newer version exists."},
		{`{"error":{"code":"TooManyRequests","innerError":{"code":"429","message":"Please retry after","request-id":"r"},"message":"Please retry again later."}}`, "", "TooManyRequests", "Please retry again later.: Please retry after"},
		{`{"error":{"code":"BadRequest","message":"Bad","details":[{"code":"InvalidProperty","message":"title is required"}]}}`, "", "BadRequest", "Bad: title is required"},
		{`{"Error":"InvalidLogType","Message":"Log-Type is invalid"}`, "", "InvalidLogType", "Log-Type is invalid"},
		{`<html>Bad gateway</html>`, "", "", "<html>Bad gateway</html>"},
		{``, "InvalidStream", "InvalidStream", ""},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("x-ms-error-code", tt.header)
		}
		code, msg := parseErrorBody([]byte(tt.body), h)
		if code != tt.code || msg != tt.msg {
			t.Errorf("parseErrorBody(%s) = %q, %q; want %q, %q", tt.body, code, msg, tt.code, tt.msg)
		}
	}
}

func TestLabelChangeNamesContributor(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, storedIncident) })
	f.handle("PUT "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 403, `{"error":{"code":"AuthorizationFailed","message":"The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.SecurityInsights/incidents/write' over scope 'z'."}}`)
	})
	c, _ := f.client()
	tests := []struct {
		name   string
		change func(*Incident)
		want   string
	}{
		{"status", func(i *Incident) { i.Properties.Status = "Active" }, RoleSentinelResponder},
		{"label", func(i *Incident) { i.Properties.Labels = append(i.Properties.Labels, Label{LabelName: "SIGNL4"}) }, RoleSentinelContributor},
	}
	for _, tt := range tests {
		_, err := c.UpdateIncident(context.Background(), "inc-1", func(i *Incident) (bool, error) { tt.change(i); return true, nil })
		var ae *APIError
		if !errors.As(err, &ae) || ae.Permission != tt.want {
			t.Errorf("%s: err = %v, want the '%s' role named", tt.name, err, tt.want)
		}
	}
}
