package sentinel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const graphIncidentJSON = `{
  "id": "%s", "tenantId": "b3c1", "displayName": "Multi-stage incident", "status": "active", "severity": "high",
  "classification": "unknown", "determination": "unknown", "assignedTo": null,
  "incidentWebUrl": "https://security.microsoft.com/incidents/29?tid=b3c1",
  "redirectIncidentId": null, "customTags": ["SIGNL4"], "systemTags": [],
  "createdDateTime": "2026-03-04T07:00:00.1234567Z", "lastUpdateDateTime": "2026-03-04T07:30:00.7654321Z",
  "comments": [{"comment": "seen", "createdByDisplayName": "ann", "createdDateTime": "2026-03-04T07:10:00.1606766Z"}],
  "alerts": [{
    "@odata.type": "#microsoft.graph.security.alert", "id": "da6375", "incidentId": "%s", "title": "Suspicious execution",
    "description": "hidden file", "serviceSource": "microsoftSentinel", "detectionSource": "scheduledAlerts",
    "productName": "Microsoft Sentinel", "mitreTechniques": ["T1564.001"], "status": "new", "severity": "low",
    "alertWebUrl": "https://security.microsoft.com/alerts/da6375", "resolvedDateTime": null,
    "createdDateTime": "2026-03-04T07:00:00.7211305Z", "lastUpdateDateTime": "2026-03-04T07:00:01Z",
    "evidence": [{"@odata.type": "#microsoft.graph.security.deviceEvidence", "deviceDnsName": "host1", "roles": ["compromised"]}]
  }]
}`

func TestListGraphIncidentsRequestAndPaging(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET /v1.0/security/incidents", func(w http.ResponseWriter, r *http.Request) {
		skip := r.URL.Query().Get("$skiptoken")
		next := map[string]string{"": "2", "2": "3", "3": ""}[skip]
		link := ""
		if next != "" {
			q := r.URL.Query()
			q.Set("$skiptoken", next)
			link = fmt.Sprintf(`,"@odata.nextLink":%q`, f.srv.URL+r.URL.Path+"?"+q.Encode())
		}
		id := "1" + skip
		writeJSON(w, 200, `{"@odata.context":"x","value":[`+fmt.Sprintf(graphIncidentJSON, id, id)+`]`+link+`}`)
	})
	c, _ := f.client()
	got, err := c.ListGraphIncidents(context.Background(), time.Date(2026, 3, 4, 6, 0, 0, 0, time.UTC), []string{"active", "inProgress"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != "1" || got[1].ID != "12" || got[2].ID != "13" {
		t.Fatalf("incidents = %d %+v", len(got), got)
	}
	g := got[0]
	if !g.LastUpdateDateTime.Equal(time.Date(2026, 3, 4, 7, 30, 0, 765432100, time.UTC)) || g.CustomTags[0] != "SIGNL4" ||
		g.Comments[0].CreatedDateTime.IsZero() || len(g.Alerts) != 1 {
		t.Errorf("incident = %+v", g)
	}
	a := g.Alerts[0]
	if a.ServiceSource != "microsoftSentinel" || a.DetectionSource != "scheduledAlerts" || a.MitreTechniques[0] != "T1564.001" ||
		a.CreatedDateTime.Nanosecond() != 721130500 || !a.ResolvedDateTime.IsZero() || len(a.Evidence) != 1 ||
		!strings.Contains(string(a.Evidence[0]), "deviceDnsName") || !strings.Contains(string(a.Raw), "@odata.type") {
		t.Errorf("alert = %+v", a)
	}
	reqs := f.seen()
	if len(reqs) != 3 {
		t.Fatalf("requests = %d", len(reqs))
	}
	for _, r := range reqs {
		if r.Header.Get("Prefer") != "include-unknown-enum-members" {
			t.Errorf("Prefer = %q", r.Header.Get("Prefer"))
		}
		if r.Query.Get("$expand") != "alerts" {
			t.Errorf("$expand = %q", r.Query.Get("$expand"))
		}
		if want := "lastUpdateDateTime ge 2026-03-04T06:00:00Z and (status eq 'active' or status eq 'inProgress')"; r.Query.Get("$filter") != want {
			t.Errorf("$filter = %q, want %q", r.Query.Get("$filter"), want)
		}
	}
}

func TestGraphQueryEncodesSpacesAsPercent20(t *testing.T) {
	f := newFakeAzure(t)
	var raw string
	f.handle("GET /v1.0/security/alerts_v2", func(w http.ResponseWriter, r *http.Request) {
		raw = r.URL.RawQuery
		writeJSON(w, 200, `{"value":[]}`)
	})
	c, _ := f.client()
	if _, err := c.ListAlertsV2(context.Background(), testNow, []string{"new"}); err != nil {
		t.Fatal(err)
	}
	want := "$filter=lastUpdateDateTime%20ge%202026-03-04T08%3A00%3A00Z%20and%20status%20eq%20%27new%27"
	if raw != want {
		t.Errorf("raw query = %s\nwant        %s", raw, want)
	}
}

func TestUpdateGraphIncident(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("PATCH /v1.0/security/incidents/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, fmt.Sprintf(strings.Replace(graphIncidentJSON, `"status": "active"`, `"status": "resolved"`, 1), r.PathValue("id"), r.PathValue("id")))
	})
	c, _ := f.client()
	status, cls, tags := "resolved", "truePositive", []string{"SIGNL4", "paged"}
	got, err := c.UpdateGraphIncident(context.Background(), "29", GraphIncidentPatch{Status: &status, Classification: &cls, CustomTags: &tags})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "29" || got.Status != "resolved" {
		t.Errorf("got %+v", got)
	}
	s := f.seen()[0]
	if string(s.Body) != `{"status":"resolved","classification":"truePositive","customTags":["SIGNL4","paged"]}` {
		t.Errorf("PATCH body = %s", s.Body)
	}
	if _, err := c.UpdateGraphIncident(context.Background(), "29", GraphIncidentPatch{}); err == nil {
		t.Error("an empty patch was sent")
	}
}

func TestCommentsOnGraph(t *testing.T) {
	f := newFakeAzure(t)
	answer := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"value":[{"comment":"Acked","createdByDisplayName":"app","createdDateTime":"2026-03-04T08:00:00.1234567Z"}]}`)
	}
	f.handle("POST /v1.0/security/incidents/{id}/comments", answer)
	f.handle("POST /v1.0/security/alerts_v2/{id}/comments", answer)
	c, _ := f.client()
	ctx := context.Background()
	if err := c.CommentGraphIncident(ctx, "29", "Acked"); err != nil {
		t.Fatal(err)
	}
	if err := c.CommentAlertV2(ctx, "da6375", "Acked"); err != nil {
		t.Fatal(err)
	}
	reqs := f.seen()
	wantPaths := []string{"/v1.0/security/incidents/29/comments", "/v1.0/security/alerts_v2/da6375/comments"}
	for i, r := range reqs {
		if r.Path != wantPaths[i] || string(r.Body) != `{"@odata.type":"microsoft.graph.security.alertComment","comment":"Acked"}` {
			t.Errorf("request %d: %s %s", i, r.Path, r.Body)
		}
	}
}

func TestAlertsV2ListAndUpdate(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET /v1.0/security/alerts_v2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"value":[{"id":"da1","status":"new","severity":"high","serviceSource":"microsoftDefenderForEndpoint","lastUpdateDateTime":"2026-03-04T07:00:00.1234567Z"}]}`)
	})
	f.handle("PATCH /v1.0/security/alerts_v2/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"id":"`+r.PathValue("id")+`","status":"inProgress","assignedTo":"ann@contoso.com"}`)
	})
	c, _ := f.client()
	ctx := context.Background()
	alerts, err := c.ListAlertsV2(ctx, time.Time{}, nil)
	if err != nil || len(alerts) != 1 || alerts[0].ID != "da1" || alerts[0].LastUpdateDateTime.IsZero() {
		t.Fatalf("alerts = %+v, %v", alerts, err)
	}
	if q := f.seen()[0].Query; q.Has("$filter") || q.Has("$expand") {
		t.Errorf("query = %v, want no filter for a zero since", q)
	}
	st, who := "inProgress", "ann@contoso.com"
	got, err := c.UpdateAlertV2(ctx, "da1", AlertV2Patch{Status: &st, AssignedTo: &who})
	if err != nil || got.Status != "inProgress" {
		t.Fatalf("update = %+v, %v", got, err)
	}
	if b := string(f.seen()[1].Body); b != `{"status":"inProgress","assignedTo":"ann@contoso.com"}` {
		t.Errorf("PATCH body = %s", b)
	}
}

func TestLegacyAlerts(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET /v1.0/security/alerts", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Warning", `199 - "Microsoft/MCAS/504/10000"`)
		writeJSON(w, 206, `{"value":[{"id":"A1","title":"Impossible travel","severity":"high","status":"newAlert","createdDateTime":"2026-03-04T07:00:00.123Z",
		  "eventDateTime":"2026-03-04T06:59:00Z","lastModifiedDateTime":"2026-03-04T07:01:00.1234567Z","closedDateTime":null,
		  "vendorInformation":{"provider":"IPC","providerVersion":null,"subProvider":null,"vendor":"Microsoft"},
		  "userStates":[{"userPrincipalName":"bob@contoso.com"}],"hostStates":[]}]}`)
	})
	var status int
	f.handle("PATCH /v1.0/security/alerts/{id}", func(w http.ResponseWriter, r *http.Request) {
		if status == 204 {
			w.WriteHeader(204)
			return
		}
		writeJSON(w, 200, `{"id":"A1"}`)
	})
	c, _ := f.client()
	ctx := context.Background()
	alerts, err := c.ListLegacyAlerts(ctx, time.Date(2026, 3, 4, 6, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].VendorInformation != (VendorInformation{Provider: "IPC", Vendor: "Microsoft"}) ||
		alerts[0].LastModifiedDateTime.Nanosecond() != 123456700 || len(alerts[0].UserStates) != 1 {
		t.Fatalf("alerts = %+v", alerts)
	}
	list := f.seen()[0]
	if got := list.Query.Get("$filter"); got != "eventDateTime ge 2026-03-04T06:00:00.000Z" {
		t.Errorf("$filter = %q", got)
	}
	if list.Header.Get("Prefer") != "" {
		t.Errorf("legacy list sent Prefer %q", list.Header.Get("Prefer"))
	}

	closed := time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC)
	st, fb := "resolved", "truePositive"
	for _, status = range []int{204, 200} {
		if err := c.UpdateLegacyAlert(ctx, "A1", LegacyAlertPatch{Status: &st, Feedback: &fb, ClosedDateTime: &closed}, alerts[0].VendorInformation); err != nil {
			t.Fatalf("answer %d: %v", status, err)
		}
	}
	for _, r := range f.seen()[1:] {
		var body map[string]any
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"status": "resolved", "feedback": "truePositive", "closedDateTime": "2026-03-04T08:00:00Z",
			"vendorInformation": map[string]any{"provider": "IPC", "vendor": "Microsoft"}}
		if fmt.Sprint(body) != fmt.Sprint(want) {
			t.Errorf("PATCH body = %v\nwant %v", body, want)
		}
	}
	// Even a patch of one field carries vendorInformation.
	who := "ann@contoso.com"
	if err := c.UpdateLegacyAlert(ctx, "A1", LegacyAlertPatch{AssignedTo: &who}, VendorInformation{Provider: "ASC", Vendor: "Microsoft"}); err != nil {
		t.Fatal(err)
	}
	last := f.seen()[len(f.seen())-1]
	if string(last.Body) != `{"assignedTo":"ann@contoso.com","vendorInformation":{"provider":"ASC","vendor":"Microsoft"}}` {
		t.Errorf("PATCH body = %s", last.Body)
	}
	n := len(f.seen())
	if err := c.UpdateLegacyAlert(ctx, "A1", LegacyAlertPatch{Status: &st}, VendorInformation{}); err == nil || !strings.Contains(err.Error(), "vendorInformation") {
		t.Errorf("err = %v, want vendorInformation demanded", err)
	}
	if len(f.seen()) != n {
		t.Error("a PATCH without vendorInformation was sent")
	}
}
