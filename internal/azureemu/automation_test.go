package azureemu

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The incident trigger's envelope carries the incident as the ARM API
// serves it, plus what only the trigger has; PushIncident posts it.
func TestIncidentTriggerAndPush(t *testing.T) {
	emu := New(Options{})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	const sub, rg, ws = "d0cfe6b2-9ac0-4464-9919-dccaee2e48c0", "rg-push", "ws-push"
	w, err := emu.AddWorkspace(Workspace{SubscriptionID: sub, ResourceGroup: rg, Name: ws})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := emu.AddIncident(ws, Incident{Title: "Impossible travel", Severity: "High",
		Alerts:   []Alert{{DisplayName: "Impossible travel activity"}},
		Entities: []Entity{{Kind: "Account", Properties: map[string]any{"friendlyName": "ann"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emu.IncidentTrigger("no-such-incident"); err == nil {
		t.Fatal("a trigger for an unknown incident")
	}
	b, err := emu.IncidentTrigger(inc.Name)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		EventUniqueID    string `json:"eventUniqueId"`
		ObjectSchemaType string `json:"objectSchemaType"`
		ObjectEventType  string `json:"objectEventType"`
		WorkspaceInfo    struct {
			SubscriptionID    string `json:"SubscriptionId"`
			ResourceGroupName string `json:"ResourceGroupName"`
			WorkspaceName     string `json:"WorkspaceName"`
		} `json:"workspaceInfo"`
		WorkspaceID string `json:"workspaceId"`
		Object      struct {
			ID         string `json:"id"`
			Name       string `json:"name"`
			Properties struct {
				Title           string            `json:"title"`
				IncidentNumber  int               `json:"incidentNumber"`
				Alerts          []json.RawMessage `json:"Alerts"`
				RelatedEntities []json.RawMessage `json:"relatedEntities"`
				Comments        []json.RawMessage `json:"Comments"`
			} `json:"properties"`
		} `json:"object"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	p := env.Object.Properties
	if env.EventUniqueID == "" || env.ObjectSchemaType != "Incident" || env.ObjectEventType != "Create" ||
		env.WorkspaceInfo.SubscriptionID != sub || env.WorkspaceInfo.ResourceGroupName != rg || env.WorkspaceInfo.WorkspaceName != ws ||
		env.WorkspaceID != w.WorkspaceID || env.Object.ID != inc.ID || env.Object.Name != inc.Name ||
		p.Title != "Impossible travel" || p.IncidentNumber != inc.Number || len(p.Alerts) != 1 || len(p.RelatedEntities) != 1 || p.Comments == nil {
		t.Fatalf("envelope %s", b)
	}

	var got []byte
	var ctype string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		ctype = r.Header.Get("Content-Type")
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"status":"queued"}`))
	}))
	t.Cleanup(sink.Close)
	status, answer, err := emu.PushIncident(context.Background(), nil, sink.URL+"/push", inc.Name)
	if err != nil || status != http.StatusAccepted || string(answer) != `{"status":"queued"}` {
		t.Fatalf("push: %d %s %v", status, answer, err)
	}
	var sent map[string]any
	if err := json.Unmarshal(got, &sent); err != nil || ctype != "application/json" || sent["objectSchemaType"] != "Incident" {
		t.Fatalf("posted %s (%s)", got, ctype)
	}
}
