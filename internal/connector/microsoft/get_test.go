package microsoft_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/connector"
)

// getter is the source as the connector's push sees it.
func getter(t *testing.T, src connector.Source) connector.Getter {
	t.Helper()
	g, ok := src.(connector.Getter)
	if !ok {
		t.Fatal("the Microsoft source does not read single items")
	}
	return g
}

// sameItem fails unless a read item is what the poll returned for it.
func sameItem(t *testing.T, got, want connector.Item) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("read item differs from the polled one:\n%s\nwant\n%s", g, w)
	}
}

func TestGetSentinelIncidentIsThePolledItem(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	inc, err := e.emu.AddIncident(wsName, azureemu.Incident{Title: "Impossible travel", Description: "Lisbon, then Sydney", Severity: "High",
		Tactics: []string{"InitialAccess"}, Alerts: []azureemu.Alert{{DisplayName: "Impossible travel activity", ProductName: "Microsoft Cloud App Security"}}})
	if err != nil {
		t.Fatal(err)
	}
	src := e.source(t, "sentinel", nil)
	g := getter(t, src)
	if err := g.CanGet(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	items, err := src.Changes(ctx, e.clock.Now().Add(-time.Hour))
	if err != nil || len(items) != 1 {
		t.Fatalf("changes: %d items, %v", len(items), err)
	}
	for _, id := range []string{inc.Name, inc.ID} {
		got, err := g.Get(ctx, id)
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		sameItem(t, got, items[0])
	}
	if _, err := g.Get(ctx, "00000000-0000-0000-0000-00000000dead"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown incident: %v", err)
	}

	// The trigger's body names the incident; so do the short forms.
	trigger, err := e.emu.IncidentTrigger(inc.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{string(trigger), `{"incidentId":"` + inc.Name + `"}`, `{"incidentId":"` + inc.ID + `"}`,
		`{"id":"` + strings.ToUpper(inc.ID[:20]) + inc.ID[20:] + `"}`, `{"name":"` + inc.Name + `"}`, `{"object":{"id":"` + inc.ID + `"}}`} {
		id, err := g.PushedID([]byte(body))
		if err != nil || id != inc.Name {
			t.Errorf("pushed %.120s: %q, %v; want %s", body, id, err, inc.Name)
		}
	}
	other := azureemu.Workspace{SubscriptionID: sub, ResourceGroup: rg, Name: "other-ws"}.ResourceID() + "/providers/Microsoft.SecurityInsights/Incidents/" + inc.Name
	for body, words := range map[string]string{
		`{}`:                      "incidentId",
		`not json at all`:         "incidentId",
		`{"incidentId":""}`:       "no incident id",
		`{"incidentId":"../x y"}`: "not an incident",
		`{"objectSchemaType":"Alert","object":{"name":"x"}}`:                                                "incident trigger",
		`{"incidentId":"` + other + `"}`:                                                                    "other-ws",
		`{"workspaceInfo":{"WorkspaceName":"other-ws"},"object":{"name":"x"}}`:                              "other-ws",
		`{"workspaceInfo":{"SubscriptionId":"55555555-5555-5555-5555-555555555555"},"object":{"name":"x"}}`: "55555555",
	} {
		if id, err := g.PushedID([]byte(body)); err == nil || !strings.Contains(err.Error(), words) {
			t.Errorf("pushed %s: %q, %v; want an error saying %q", body, id, err, words)
		}
	}
}

func TestGetGraphIncidentComesWithItsAlerts(t *testing.T) {
	e := newEnv(t, graphApp("SecurityIncident.Read.All"))
	now := e.clock.Now()
	inc, err := e.emu.AddGraphIncident(tenant, azureemu.GraphIncident{DisplayName: "Ransomware", Severity: "high",
		Created: now.Add(-time.Hour), LastUpdate: now.Add(-time.Minute),
		Alerts: []azureemu.GraphAlert{{Title: "Encrypted files", Severity: "high", ProductName: "Microsoft Defender for Endpoint"}}})
	if err != nil {
		t.Fatal(err)
	}
	src := e.source(t, "graph_incidents", map[string]any{"products": []string{"Microsoft Defender for Endpoint"}})
	g := getter(t, src)
	ctx := context.Background()
	items, err := src.Changes(ctx, now.Add(-2*time.Hour))
	if err != nil || len(items) != 1 {
		t.Fatalf("changes: %d items, %v", len(items), err)
	}
	got, err := g.Get(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Without its alerts the item would fail the products filter.
	if !got.Open {
		t.Fatal("the read incident does not pass the products filter: its alerts are missing")
	}
	sameItem(t, got, items[0])

	for body, want := range map[string]string{
		`{"incidentId":"` + inc.ID + `"}`: inc.ID,
		`{"id":"` + inc.ID + `"}`:         inc.ID,
		`{"objectSchemaType":"Incident","object":{"id":"` + wsResourceID + `/providers/Microsoft.SecurityInsights/Incidents/abc","name":"abc",` +
			`"properties":{"providerName":"Microsoft XDR","providerIncidentId":"` + inc.ID + `"}}}`: inc.ID,
	} {
		if id, err := g.PushedID([]byte(body)); err != nil || id != want {
			t.Errorf("pushed %s: %q, %v; want %s", body, id, err, want)
		}
	}
	if _, err := g.PushedID([]byte(`{"incidentId":"` + wsResourceID + `/providers/Microsoft.SecurityInsights/Incidents/abc"}`)); err == nil ||
		!strings.Contains(err.Error(), "Graph incident id") {
		t.Errorf("an ARM id for a Graph connector: %v", err)
	}
}

func TestGetGraphAlert(t *testing.T) {
	e := newEnv(t, graphApp("SecurityAlert.Read.All"))
	now := e.clock.Now()
	a, err := e.emu.AddGraphAlert(tenant, azureemu.GraphAlert{Title: "Credential theft", Severity: "high", ProductName: "Microsoft Defender for Endpoint",
		Created: now.Add(-time.Hour), LastUpdate: now.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	src := e.source(t, "graph_alerts", nil)
	g := getter(t, src)
	ctx := context.Background()
	items, err := src.Changes(ctx, now.Add(-2*time.Hour))
	if err != nil || len(items) != 1 {
		t.Fatalf("changes: %d items, %v", len(items), err)
	}
	got, err := g.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameItem(t, got, items[0])
	if id, err := g.PushedID([]byte(`{"alertId":"` + a.ID + `"}`)); err != nil || id != a.ID {
		t.Errorf("pushed alertId: %q, %v", id, err)
	}
	if _, err := g.PushedID([]byte(`{"objectSchemaType":"Incident","object":{"name":"abc"}}`)); err == nil || !strings.Contains(err.Error(), "alertId") {
		t.Errorf("an incident trigger for a Graph alerts connector: %v", err)
	}
}

func TestLegacyAlertsTakeNoPushes(t *testing.T) {
	e := newEnv(t, graphApp("SecurityEvents.Read.All"))
	g := getter(t, e.source(t, "graph_legacy", nil))
	if err := g.CanGet(); err == nil || !strings.Contains(err.Error(), "graph_legacy") {
		t.Fatalf("CanGet: %v", err)
	}
	if _, err := g.PushedID([]byte(`{"alertId":"a"}`)); err == nil {
		t.Fatal("a legacy connector took a pushed id")
	}
	if _, err := g.Get(context.Background(), "a"); err == nil {
		t.Fatal("a legacy connector read a single alert")
	}
}
