package azureemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// Sentinel automation: an automation rule (triggersOn Incidents,
// triggersWhen Created) runs a playbook whose Microsoft Sentinel incident
// trigger hands the playbook an envelope around the incident. The
// emulator builds that envelope (IncidentTrigger) and can play the whole
// lastmile push playbook (PushIncident): post it to a URL, as the
// template in deploy/azure does.

// maxTriggerAnswer bounds the answer PushIncident keeps.
const maxTriggerAnswer = 1 << 20

// IncidentTrigger returns what the incident trigger delivers for the
// incident name (the playbook's @triggerBody()): eventUniqueId,
// objectSchemaType Incident, objectEventType Create, workspaceInfo
// (SubscriptionId, ResourceGroupName, WorkspaceName), workspaceId (the
// customerId) and object, the ARM incident whose properties also carry
// Alerts, Bookmarks, relatedEntities and Comments, as public captures of
// the trigger show.
func (e *Emulator) IncidentTrigger(name string) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec := e.st.incidents[strings.ToLower(name)]
	if rec == nil {
		return nil, fmt.Errorf("azureemu: no incident %s", name)
	}
	obj := incidentJSON(rec)
	props, _ := obj["properties"].(map[string]any)
	alerts := make([]map[string]any, 0, len(rec.inc.Alerts))
	for _, a := range rec.inc.Alerts {
		alerts = append(alerts, alertJSON(rec.ws, a))
	}
	entities := make([]map[string]any, 0, len(rec.inc.Entities))
	for _, en := range rec.inc.Entities {
		entities = append(entities, entityJSON(rec.ws, en))
	}
	comments := make([]map[string]any, 0, len(rec.comments))
	for _, c := range rec.comments {
		comments = append(comments, commentJSON(rec, c))
	}
	if props != nil {
		props["Alerts"], props["Bookmarks"], props["relatedEntities"], props["Comments"] = alerts, []any{}, entities, comments
	}
	return json.Marshal(map[string]any{
		"eventUniqueId":    uuid.NewString(),
		"objectSchemaType": "Incident",
		"objectEventType":  "Create",
		"workspaceInfo": map[string]any{
			"SubscriptionId": rec.ws.SubscriptionID, "ResourceGroupName": rec.ws.ResourceGroup, "WorkspaceName": rec.ws.Name,
		},
		"workspaceId": rec.ws.WorkspaceID,
		"object":      obj,
	})
}

// PushIncident runs the push playbook once for the incident name: it posts
// the incident trigger's envelope to url as JSON with client (nil: the
// default client) and returns the answer's status and body. Like one try
// of the Logic App's HTTP action: retrying is the caller's.
func (e *Emulator) PushIncident(ctx context.Context, client *http.Client, url, name string) (int, []byte, error) {
	body, err := e.IncidentTrigger(name)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("azureemu: push request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "azure-logic-apps/1.0 (lastmile push playbook; azureemu)")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("azureemu: push: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxTriggerAnswer))
	if err != nil {
		return resp.StatusCode, answer, fmt.Errorf("azureemu: push answer: %w", err)
	}
	return resp.StatusCode, answer, nil
}
