package sentinel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// API versions pinned: the Sentinel one is a stable version with every
// incident call used here; the workspace one is Log Analytics' stable.
const (
	SentinelAPIVersion  = "2025-09-01"
	WorkspaceAPIVersion = "2023-09-01"
)

// maxUpdateTries bounds the read-change-write loop against concurrent
// edits (each 409 means someone else saved first).
const maxUpdateTries = 3

// IncidentQuery selects incidents. Empty fields select all.
type IncidentQuery struct {
	ModifiedSince time.Time
	Statuses      []string // New, Active, Closed
	Severities    []string // High, Medium, Low, Informational
}

func (c *Client) workspacePath() string {
	return c.ep.ResourceManager + "/subscriptions/" + url.PathEscape(strings.TrimSpace(c.cfg.SubscriptionID)) +
		"/resourceGroups/" + url.PathEscape(c.cfg.ResourceGroup) +
		"/providers/Microsoft.OperationalInsights/workspaces/" + url.PathEscape(c.cfg.WorkspaceName)
}

func (c *Client) incidentsPath() string {
	return c.workspacePath() + "/providers/Microsoft.SecurityInsights/incidents"
}

// incidentPath takes an incident's name or full ARM id; only the name is
// used, so calls stay in the configured workspace.
func (c *Client) incidentPath(id string) (string, error) {
	id = strings.TrimRight(strings.TrimSpace(id), "/")
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	if id == "" {
		return "", errors.New("incident id is empty")
	}
	return c.incidentsPath() + "/" + url.PathEscape(id), nil
}

func (c *Client) sentinelRequest(method, rawURL, what string, write bool) request {
	perm := RoleSentinelReader
	if write {
		perm = RoleSentinelResponder
	}
	return request{
		service: ServiceSentinel, what: what, method: method, url: rawURL, scope: ScopeResourceManager,
		idempotent: method != http.MethodPost || !write, permission: perm,
		subject: "workspace " + c.cfg.WorkspaceName, notFound: c.workspaceNotFound(),
	}
}

func withAPIVersion(u, version string, extra url.Values) string {
	q := url.Values{"api-version": {version}}
	for k, vs := range extra {
		q[k] = vs
	}
	return u + "?" + encodeQuery(q)
}

// ListIncidents returns the incidents matching q, oldest change first,
// following every next page.
func (c *Client) ListIncidents(ctx context.Context, q IncidentQuery) ([]Incident, error) {
	if err := c.cfg.ValidateSentinel(); err != nil {
		return nil, err
	}
	extra := url.Values{"$orderby": {"properties/lastModifiedTimeUtc asc"}}
	var since string
	if !q.ModifiedSince.IsZero() {
		since = "properties/lastModifiedTimeUtc ge " + odataTime(q.ModifiedSince)
	}
	if f := and(since, anyOf("properties/status", q.Statuses), anyOf("properties/severity", q.Severities)); f != "" {
		extra.Set("$filter", f)
	}
	return c.listIncidents(ctx, withAPIVersion(c.incidentsPath(), SentinelAPIVersion, extra), "list incidents")
}

func (c *Client) listIncidents(ctx context.Context, first, what string) ([]Incident, error) {
	var out []Incident
	next := first
	for page := 0; next != ""; page++ {
		if page >= maxPages {
			return out, fmt.Errorf("%s: more than %d pages", what, maxPages)
		}
		if page > 0 {
			if err := checkNextLink(next, c.ep.ResourceManager); err != nil {
				return out, fmt.Errorf("%s: %w", what, err)
			}
		}
		req := c.sentinelRequest(http.MethodGet, next, what, false)
		resp, err := c.do(ctx, req)
		if err != nil {
			return out, err
		}
		var body struct {
			Value    []Incident `json:"value"`
			NextLink string     `json:"nextLink"`
		}
		if err := json.Unmarshal(resp.body, &body); err != nil {
			return out, fmt.Errorf("%s: Sentinel's answer is not an incident list: %w", what, err)
		}
		out = append(out, body.Value...)
		next = body.NextLink
	}
	return out, nil
}

// GetIncident reads one incident by its name (GUID) or ARM id.
func (c *Client) GetIncident(ctx context.Context, id string) (Incident, error) {
	if err := c.cfg.ValidateSentinel(); err != nil {
		return Incident{}, err
	}
	p, err := c.incidentPath(id)
	if err != nil {
		return Incident{}, err
	}
	req := c.sentinelRequest(http.MethodGet, withAPIVersion(p, SentinelAPIVersion, nil), "read incident "+id, false)
	req.notFound = fmt.Sprintf("incident %s not found in workspace %s", id, c.cfg.WorkspaceName)
	resp, err := c.do(ctx, req)
	if err != nil {
		return Incident{}, err
	}
	var inc Incident
	if err := json.Unmarshal(resp.body, &inc); err != nil {
		return Incident{}, fmt.Errorf("read incident %s: Sentinel's answer is not an incident: %w", id, err)
	}
	return inc, nil
}

// UpdateIncident reads the incident, lets mutate change it and writes it
// back with its etag. When someone else saved in between (409), it reads
// again and calls mutate again, up to three times, so mutate must work
// from what it is given. mutate returning false writes nothing.
func (c *Client) UpdateIncident(ctx context.Context, id string, mutate func(*Incident) (changed bool, err error)) (Incident, error) {
	p, err := c.incidentPath(id)
	if err != nil {
		return Incident{}, err
	}
	what := "update incident " + id
	for try := 1; ; try++ {
		cur, err := c.GetIncident(ctx, id)
		if err != nil {
			return Incident{}, err
		}
		changed, err := mutate(&cur)
		if err != nil {
			return cur, fmt.Errorf("%s: %w", what, err)
		}
		if !changed {
			return cur, nil
		}
		body, err := cur.putBody()
		if err != nil {
			return cur, fmt.Errorf("%s: %w", what, err)
		}
		req := c.sentinelRequest(http.MethodPut, withAPIVersion(p, SentinelAPIVersion, nil), what, true)
		req.body, req.contentType = body, contentTypeJSON
		req.notFound = fmt.Sprintf("incident %s not found in workspace %s", id, c.cfg.WorkspaceName)
		resp, err := c.do(ctx, req)
		if apiErr, ok := errors.AsType[*APIError](err); ok && apiErr.Status == http.StatusConflict && try < maxUpdateTries {
			c.log.Info("incident changed while updating it, reading it again", "incident", id, "try", try)
			continue
		}
		if err != nil {
			return cur, err
		}
		var saved Incident
		if err := json.Unmarshal(resp.body, &saved); err != nil || saved.Name == "" {
			// Saved, but the answer is unreadable: the caller's copy is
			// the best there is.
			return cur, nil
		}
		return saved, nil
	}
}

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

// WorkspaceInfo is what ARM says of the Log Analytics workspace.
type WorkspaceInfo struct {
	ID                string // ARM resource id
	Name              string
	Location          string
	CustomerID        string // the workspace id Log Analytics queries use
	ProvisioningState string
	SKU               string
	RetentionInDays   int
}

// Workspace reads the configured workspace from ARM; its CustomerID is
// the workspace id for queries.
func (c *Client) Workspace(ctx context.Context) (WorkspaceInfo, error) {
	if err := c.cfg.ValidateSentinel(); err != nil {
		return WorkspaceInfo{}, err
	}
	req := request{
		service: ServiceARM, what: "read workspace " + c.cfg.WorkspaceName, method: http.MethodGet,
		url: withAPIVersion(c.workspacePath(), WorkspaceAPIVersion, nil), scope: ScopeResourceManager, idempotent: true,
		permission: RoleReader, subject: "workspace " + c.cfg.WorkspaceName, notFound: c.workspaceNotFound(),
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return WorkspaceInfo{}, err
	}
	var body struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Location   string `json:"location"`
		Properties struct {
			CustomerID        string      `json:"customerId"`
			ProvisioningState string      `json:"provisioningState"`
			RetentionInDays   json.Number `json:"retentionInDays"`
			SKU               struct {
				Name string `json:"name"`
			} `json:"sku"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return WorkspaceInfo{}, fmt.Errorf("read workspace: ARM's answer is not a workspace: %w", err)
	}
	days, _ := strconv.Atoi(body.Properties.RetentionInDays.String())
	return WorkspaceInfo{
		ID: body.ID, Name: body.Name, Location: body.Location, CustomerID: body.Properties.CustomerID,
		ProvisioningState: body.Properties.ProvisioningState, SKU: body.Properties.SKU.Name, RetentionInDays: days,
	}, nil
}
