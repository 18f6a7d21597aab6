package sentinel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// SecurityAlert is an alert of an incident as Sentinel's entity API sends
// it. Raw keeps the whole entity (e.g. for the rule query in
// additionalData).
type SecurityAlert struct {
	ID         string                  `json:"id"`
	Name       string                  `json:"name"`
	Type       string                  `json:"type"`
	Kind       string                  `json:"kind"`
	Properties SecurityAlertProperties `json:"properties"`
	Raw        json.RawMessage         `json:"-"`
}

// SecurityAlertProperties mirror the wire's.
type SecurityAlertProperties struct {
	SystemAlertID        string            `json:"systemAlertId"`
	AlertDisplayName     string            `json:"alertDisplayName"`
	FriendlyName         string            `json:"friendlyName"`
	AlertType            string            `json:"alertType"`
	Description          string            `json:"description"`
	Severity             string            `json:"severity"`
	Status               string            `json:"status"`
	ConfidenceLevel      string            `json:"confidenceLevel"`
	ConfidenceScore      *float64          `json:"confidenceScore"`
	ProductName          string            `json:"productName"`
	ProductComponentName string            `json:"productComponentName"`
	ProductVersion       string            `json:"productVersion"`
	VendorName           string            `json:"vendorName"`
	ProviderAlertID      string            `json:"providerAlertId"`
	CompromisedEntity    string            `json:"compromisedEntity"`
	AlertLink            string            `json:"alertLink"`
	Intent               string            `json:"intent"`
	Tactics              []string          `json:"tactics"`
	Techniques           []string          `json:"techniques"`
	RemediationSteps     []string          `json:"remediationSteps"`
	ResourceIdentifiers  []json.RawMessage `json:"resourceIdentifiers"`
	AdditionalData       map[string]any    `json:"additionalData"`
	StartTimeUTC         time.Time         `json:"startTimeUtc"`
	EndTimeUTC           time.Time         `json:"endTimeUtc"`
	TimeGenerated        time.Time         `json:"timeGenerated"`
	ProcessingEndTime    time.Time         `json:"processingEndTime"`
}

func (a *SecurityAlert) UnmarshalJSON(b []byte) error {
	type alias SecurityAlert
	if err := json.Unmarshal(b, (*alias)(a)); err != nil {
		return err
	}
	a.Raw = append(json.RawMessage(nil), b...)
	return nil
}

func (p *SecurityAlertProperties) UnmarshalJSON(b []byte) error {
	type alias SecurityAlertProperties
	aux := struct {
		*alias
		StartTimeUTC      flexTime `json:"startTimeUtc"`
		EndTimeUTC        flexTime `json:"endTimeUtc"`
		TimeGenerated     flexTime `json:"timeGenerated"`
		ProcessingEndTime flexTime `json:"processingEndTime"`
	}{alias: (*alias)(p)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.StartTimeUTC, p.EndTimeUTC = aux.StartTimeUTC.t, aux.EndTimeUTC.t
	p.TimeGenerated, p.ProcessingEndTime = aux.TimeGenerated.t, aux.ProcessingEndTime.t
	return nil
}

// IncidentAlerts returns the alerts of an incident.
func (c *Client) IncidentAlerts(ctx context.Context, id string) ([]SecurityAlert, error) {
	var body struct {
		Value []SecurityAlert `json:"value"`
	}
	if err := c.incidentAction(ctx, id, "alerts", "list alerts of incident "+id, &body); err != nil {
		return nil, err
	}
	return body.Value, nil
}

// Entity is one entity of an incident (account, host, ip…), its
// properties kept as sent.
type Entity struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Kind       string          `json:"kind"`
	Properties json.RawMessage `json:"properties"`
}

// EntityKindCount is how many entities of a kind an incident has.
type EntityKindCount struct {
	Kind  string `json:"entityKind"`
	Count int    `json:"count"`
}

// IncidentEntities is the answer of the entities call.
type IncidentEntities struct {
	Entities []Entity          `json:"entities"`
	Kinds    []EntityKindCount `json:"metaData"`
}

// IncidentEntities returns the entities of an incident and their counts
// by kind.
func (c *Client) IncidentEntities(ctx context.Context, id string) (IncidentEntities, error) {
	var out IncidentEntities
	err := c.incidentAction(ctx, id, "entities", "list entities of incident "+id, &out)
	return out, err
}

// incidentAction POSTs to an incident's read-only action (alerts,
// entities) and decodes the answer into v.
func (c *Client) incidentAction(ctx context.Context, id, action, what string, v any) error {
	if err := c.cfg.ValidateSentinel(); err != nil {
		return err
	}
	p, err := c.incidentPath(id)
	if err != nil {
		return err
	}
	req := c.sentinelRequest(http.MethodPost, withAPIVersion(p+"/"+action, SentinelAPIVersion, nil), what, false)
	req.notFound = fmt.Sprintf("incident %s not found in workspace %s", id, c.cfg.WorkspaceName)
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.body, v); err != nil {
		return fmt.Errorf("%s: Sentinel's answer is not readable: %w", what, err)
	}
	return nil
}

// maxCommentLen is Sentinel's limit on a comment's message.
const maxCommentLen = 30000

// AddIncidentComment adds a comment to an incident. The comment's id is
// chosen here, so a retried PUT cannot add it twice.
func (c *Client) AddIncidentComment(ctx context.Context, id, message string) error {
	if err := c.cfg.ValidateSentinel(); err != nil {
		return err
	}
	p, err := c.incidentPath(id)
	if err != nil {
		return err
	}
	if strings.TrimSpace(message) == "" {
		return errors.New("comment is empty")
	}
	message = clip(message, maxCommentLen)
	what := "comment on incident " + id
	req := c.sentinelRequest(http.MethodPut, withAPIVersion(p+"/comments/"+uuid.NewString(), SentinelAPIVersion, nil), what, true)
	req.notFound = fmt.Sprintf("incident %s not found in workspace %s", id, c.cfg.WorkspaceName)
	req, err = jsonRequest(req, map[string]any{"properties": map[string]string{"message": message}})
	if err != nil {
		return err
	}
	_, err = c.do(ctx, req)
	return err
}
