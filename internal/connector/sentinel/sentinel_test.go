package sentinel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestListIncidentsRequestAndPaging(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET "+incidentsPath, func(w http.ResponseWriter, r *http.Request) {
		page := r.URL.Query().Get("$skipToken")
		next := map[string]string{"": "p2", "p2": "p3", "p3": ""}[page]
		link := ""
		if next != "" {
			// ARM's next link repeats the query and adds the skip token.
			q := r.URL.Query()
			q.Set("$skipToken", next)
			link = fmt.Sprintf(`,"nextLink":%q`, f.srv.URL+r.URL.Path+"?"+q.Encode())
		}
		writeJSON(w, 200, fmt.Sprintf(`{"value":[{"id":"/x/incidents/i-%s","name":"i-%s","etag":"\"e\"","properties":{"title":"T %s","severity":"High","status":"New","incidentNumber":7,"lastModifiedTimeUtc":"2026-03-04T07:59:59.1234567Z","createdTimeUtc":"2026-03-04T07:00:00Z","owner":{"objectId":null,"email":null},"labels":[{"labelName":"SIGNL4","labelType":"User"}],"additionalData":{"alertsCount":2,"alertProductNames":["Azure Sentinel"],"tactics":["Persistence"]}}}]%s}`,
			page, page, page, link))
	})
	c, _ := f.client()
	since := time.Date(2026, 3, 3, 8, 0, 0, 500, time.UTC)
	got, err := c.ListIncidents(context.Background(), IncidentQuery{ModifiedSince: since, Statuses: []string{"New", "Active"}, Severities: []string{"High"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Name != "i-" || got[1].Name != "i-p2" || got[2].Name != "i-p3" {
		t.Fatalf("incidents = %+v, want three from three pages", got)
	}
	p := got[0].Properties
	if !p.LastModifiedTimeUTC.Equal(time.Date(2026, 3, 4, 7, 59, 59, 123456700, time.UTC)) || p.IncidentNumber != 7 ||
		p.AdditionalData.AlertsCount != 2 || !got[0].HasLabel("SIGNL4") || p.Owner == nil {
		t.Errorf("first incident = %+v", p)
	}
	reqs := f.seen()
	if len(reqs) != 3 {
		t.Fatalf("requests = %d, want 3", len(reqs))
	}
	q := reqs[0].Query
	if q.Get("api-version") != "2025-09-01" {
		t.Errorf("api-version = %q", q.Get("api-version"))
	}
	wantFilter := "properties/lastModifiedTimeUtc ge 2026-03-03T08:00:00Z and (properties/status eq 'New' or properties/status eq 'Active') and properties/severity eq 'High'"
	if q.Get("$filter") != wantFilter {
		t.Errorf("$filter = %q\nwant     %q", q.Get("$filter"), wantFilter)
	}
	if q.Get("$orderby") != "properties/lastModifiedTimeUtc asc" {
		t.Errorf("$orderby = %q", q.Get("$orderby"))
	}
	for i, r := range reqs[1:] {
		if r.Query.Get("$filter") != wantFilter || r.Query.Get("$skipToken") == "" {
			t.Errorf("page %d query = %v, want the next link followed verbatim", i+2, r.Query)
		}
	}
}

func TestListIncidentsRefusesForeignNextLink(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET "+incidentsPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"value":[],"nextLink":"https://evil.example/steal?api-version=1"}`)
	})
	c, _ := f.client()
	_, err := c.ListIncidents(context.Background(), IncidentQuery{})
	if err == nil || !strings.Contains(err.Error(), "next page link points to https://evil.example") {
		t.Fatalf("err = %v", err)
	}
	if q := f.seen()[0].Query; q.Has("$filter") {
		t.Errorf("an empty query sent $filter = %q", q.Get("$filter"))
	}
}

// storedIncident is a Sentinel incident with fields this package does not
// model, which an update must send back untouched.
const storedIncident = `{
 "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w/providers/Microsoft.SecurityInsights/incidents/inc-1",
 "name": "inc-1", "type": "Microsoft.SecurityInsights/incidents", "etag": "\"0300bf09-0000-0000-0000-5c37296e0000\"",
 "properties": {
  "title": "My incident", "description": "demo", "severity": "High", "status": "New",
  "owner": {"objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70", "email": "john@contoso.com", "assignedTo": "john", "userPrincipalName": "john@contoso.com", "ownerType": "User"},
  "labels": [{"labelName": "auto", "labelType": "AutoAssigned"}],
  "firstActivityTimeUtc": "2019-01-01T13:00:30Z", "lastActivityTimeUtc": "2019-01-01T13:05:30Z",
  "lastModifiedTimeUtc": "2019-01-01T13:15:30.1234567Z", "createdTimeUtc": "2019-01-01T13:15:30Z",
  "incidentNumber": 3177, "incidentUrl": "https://portal.azure.com/#asset/x",
  "additionalData": {"alertsCount": 0, "bookmarksCount": 0, "commentsCount": 3, "alertProductNames": [], "tactics": [], "futureCounter": 9},
  "providerName": "Azure Sentinel", "providerIncidentId": "3177", "relatedAnalyticRuleIds": [],
  "severityReason": {"kept": true},
  "teamInformation": {"teamId": "abc", "name": "SOC"}
 }
}`

func TestUpdateIncidentKeepsUnknownFields(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, storedIncident) })
	f.handle("PUT "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, strings.Replace(storedIncident, `"status": "New"`, `"status": "Active"`, 1))
	})
	c, _ := f.client()
	got, err := c.UpdateIncident(context.Background(), "inc-1", func(inc *Incident) (bool, error) {
		inc.Properties.Status = "Active"
		inc.Properties.Labels = append(inc.Properties.Labels, Label{LabelName: "SIGNL4"})
		inc.Properties.Owner.Email = "ann@contoso.com"
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Properties.Status != "Active" {
		t.Errorf("returned status = %q, want Active (Sentinel's answer)", got.Properties.Status)
	}
	var put *seen
	for _, s := range f.seen() {
		if s.Method == http.MethodPut {
			put = &s
		}
	}
	if put == nil {
		t.Fatal("no PUT sent")
	}
	if put.Query.Get("api-version") != SentinelAPIVersion || put.Path != incidentsPath+"/inc-1" {
		t.Errorf("PUT %s ? %v", put.Path, put.Query)
	}
	var body struct {
		Etag       string                     `json:"etag"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(put.Body, &body); err != nil {
		t.Fatalf("PUT body %s: %v", put.Body, err)
	}
	if body.Etag != `"0300bf09-0000-0000-0000-5c37296e0000"` {
		t.Errorf("etag = %q, want the one read", body.Etag)
	}
	var stored struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal([]byte(storedIncident), &stored); err != nil {
		t.Fatal(err)
	}
	for k, v := range stored.Properties {
		switch k {
		case "status", "labels", "owner":
			continue
		}
		if compact(t, body.Properties[k]) != compact(t, v) {
			t.Errorf("property %s = %s, want it sent back unchanged as %s", k, body.Properties[k], v)
		}
	}
	if string(body.Properties["status"]) != `"Active"` {
		t.Errorf("status = %s", body.Properties["status"])
	}
	if !strings.Contains(string(body.Properties["labels"]), `{"labelName":"SIGNL4"}`) || !strings.Contains(string(body.Properties["labels"]), `"auto"`) {
		t.Errorf("labels = %s", body.Properties["labels"])
	}
	if !strings.Contains(string(body.Properties["owner"]), `"email":"ann@contoso.com"`) || !strings.Contains(string(body.Properties["owner"]), `"objectId":"2046feea`) {
		t.Errorf("owner = %s", body.Properties["owner"])
	}
	if len(body.Properties) != len(stored.Properties) {
		t.Errorf("sent %d properties, Sentinel had %d", len(body.Properties), len(stored.Properties))
	}
}

func TestUpdateIncidentUnchangedWritesNothing(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, storedIncident) })
	c, _ := f.client()
	got, err := c.UpdateIncident(context.Background(), "inc-1", func(inc *Incident) (bool, error) { return false, nil })
	if err != nil || got.Name != "inc-1" {
		t.Fatalf("got %v, %v", got.Name, err)
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("requests = %d, want only the read", n)
	}
	_, err = c.UpdateIncident(context.Background(), "inc-1", func(inc *Incident) (bool, error) { return false, errors.New("no owner to map") })
	if err == nil || !strings.Contains(err.Error(), "no owner to map") {
		t.Errorf("mutate error = %v", err)
	}
}

func TestUpdateIncidentConflictRereadsAndRetries(t *testing.T) {
	f := newFakeAzure(t)
	var gets, puts atomic.Int32
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		n := gets.Add(1)
		writeJSON(w, 200, fmt.Sprintf(`{"name":"inc-1","etag":"\"v%d\"","properties":{"title":"t","severity":"Low","status":"New","commentsCount":%d}}`, n, n))
	})
	f.handle("PUT "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		puts.Add(1)
		var b struct{ Etag string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		if b.Etag != `"v2"` {
			writeJSON(w, 409, `{"error":{"code":"Conflict","message":"Newer version of resource 'inc-1' exists. Data was not saved"}}`)
			return
		}
		writeJSON(w, 200, `{"name":"inc-1","etag":"\"v3\"","properties":{"title":"t","severity":"Low","status":"Closed"}}`)
	})
	c, _ := f.client()
	calls := 0
	got, err := c.UpdateIncident(context.Background(), "inc-1", func(inc *Incident) (bool, error) {
		calls++
		inc.Properties.Status = "Closed"
		inc.Properties.Classification = "TruePositive"
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Etag != `"v3"` || got.Properties.Status != "Closed" {
		t.Errorf("got %+v", got)
	}
	if gets.Load() != 2 || puts.Load() != 2 || calls != 2 {
		t.Errorf("gets, puts, mutate calls = %d, %d, %d; want 2, 2, 2", gets.Load(), puts.Load(), calls)
	}
}

func TestUpdateIncidentGivesUpAfterThreeConflicts(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, storedIncident) })
	var puts atomic.Int32
	f.handle("PUT "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		puts.Add(1)
		writeJSON(w, 409, `{"error":{"code":"Conflict","message":"Newer version of resource 'inc-1' exists. Data was not saved"}}`)
	})
	c, _ := f.client()
	_, err := c.UpdateIncident(context.Background(), "inc-1", func(inc *Incident) (bool, error) {
		inc.Properties.Status = "Closed"
		return true, nil
	})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 409 {
		t.Fatalf("err = %v, want the 409", err)
	}
	if puts.Load() != maxUpdateTries {
		t.Errorf("puts = %d, want %d", puts.Load(), maxUpdateTries)
	}
}

func TestIncidentAlertsAndEntities(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("POST "+incidentsPath+"/{id}/alerts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"value":[{"id":"/x/Entities/baa8","name":"baa8","type":"Microsoft.SecurityInsights/Entities","kind":"SecurityAlert",
		 "properties":{"systemAlertId":"baa8","tactics":["Execution"],"alertDisplayName":"myAlert","confidenceLevel":"Unknown","severity":"Low","vendorName":"Microsoft",
		 "productName":"Azure Security Center","alertType":"myAlert","processingEndTime":"2020-07-20T18:21:53.6158361Z","status":"New","endTimeUtc":"2020-07-20T18:21:53.6158361Z",
		 "startTimeUtc":"2020-07-20T18:21:53.6158361Z","timeGenerated":"2020-07-20T18:21:53.6158361Z",
		 "resourceIdentifiers":[{"type":"LogAnalytics","workspaceId":"c8c9"}],"additionalData":{"Query":"SecurityEvent | take 1","Query Period":"05:00:00"},"friendlyName":"myAlert"}}]}`)
	})
	f.handle("POST "+incidentsPath+"/{id}/entities", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"entities":[{"id":"/x/Entities/e1","name":"e1","type":"Microsoft.SecurityInsights/Entities","kind":"Account","properties":{"accountName":"alice","friendlyName":"alice"}}],
		 "metaData":[{"count":1,"entityKind":"Account"}]}`)
	})
	c, _ := f.client()
	ctx := context.Background()
	alerts, err := c.IncidentAlerts(ctx, "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("alerts = %+v", alerts)
	}
	a := alerts[0]
	if a.Kind != "SecurityAlert" || a.Properties.AlertDisplayName != "myAlert" || a.Properties.ProductName != "Azure Security Center" ||
		a.Properties.AdditionalData["Query"] != "SecurityEvent | take 1" || a.Properties.StartTimeUTC.Nanosecond() != 615836100 ||
		!strings.Contains(string(a.Raw), `"friendlyName":"myAlert"`) {
		t.Errorf("alert = %+v", a)
	}
	ents, err := c.IncidentEntities(ctx, "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents.Entities) != 1 || ents.Entities[0].Kind != "Account" || !strings.Contains(string(ents.Entities[0].Properties), "alice") ||
		len(ents.Kinds) != 1 || ents.Kinds[0] != (EntityKindCount{Kind: "Account", Count: 1}) {
		t.Errorf("entities = %+v", ents)
	}
	for _, s := range f.seen() {
		if s.Method != http.MethodPost || s.Query.Get("api-version") != SentinelAPIVersion || len(s.Body) != 0 {
			t.Errorf("%s %s?%v body %q", s.Method, s.Path, s.Query, s.Body)
		}
	}
}

func TestAddIncidentComment(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("PUT "+incidentsPath+"/{id}/comments/{cid}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 201, `{"name":"`+r.PathValue("cid")+`","properties":{"message":"x"}}`)
	})
	c, _ := f.client()
	if err := c.AddIncidentComment(context.Background(), "/subscriptions/x/incidents/inc-1", "Acknowledged by Ann in lastmile"); err != nil {
		t.Fatal(err)
	}
	s := f.seen()[0]
	prefix := incidentsPath + "/inc-1/comments/"
	if !strings.HasPrefix(s.Path, prefix) {
		t.Fatalf("path = %s", s.Path)
	}
	if _, err := uuid.Parse(strings.TrimPrefix(s.Path, prefix)); err != nil {
		t.Errorf("comment id %q is not a uuid", strings.TrimPrefix(s.Path, prefix))
	}
	if string(s.Body) != `{"properties":{"message":"Acknowledged by Ann in lastmile"}}` || s.Header.Get("Content-Type") != "application/json" {
		t.Errorf("body %s, content type %q", s.Body, s.Header.Get("Content-Type"))
	}
}

func TestWorkspace(t *testing.T) {
	f := newFakeAzure(t)
	path := "/subscriptions/" + testSub + "/resourceGroups/" + testRG + "/providers/Microsoft.OperationalInsights/workspaces/" + testWS
	f.handle("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"`+path+`","name":"soc-ws","location":"westeurope","properties":{"customerId":"`+testWSID+`","provisioningState":"Succeeded","sku":{"name":"PerGB2018"},"retentionInDays":90}}`)
	})
	c, _ := f.client()
	ws, err := c.Workspace(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := WorkspaceInfo{ID: path, Name: "soc-ws", Location: "westeurope", CustomerID: testWSID, ProvisioningState: "Succeeded", SKU: "PerGB2018", RetentionInDays: 90}
	if ws != want {
		t.Errorf("workspace = %+v\nwant %+v", ws, want)
	}
	if v := f.seen()[0].Query.Get("api-version"); v != WorkspaceAPIVersion {
		t.Errorf("api-version = %q", v)
	}
}

func TestSentinelNeedsItsSettings(t *testing.T) {
	f := newFakeAzure(t)
	cfg := f.config()
	cfg.WorkspaceName = ""
	c, _ := f.clientWith(cfg)
	_, err := c.ListIncidents(context.Background(), IncidentQuery{})
	if err == nil || !strings.Contains(err.Error(), "workspace name is empty") {
		t.Fatalf("err = %v", err)
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return buf.String()
}
