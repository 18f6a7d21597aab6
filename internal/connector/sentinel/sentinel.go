package sentinel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
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
		if cur.labelsChanged() {
			// Responder may change status, owner and comments; labels
			// take Contributor.
			req.permission, req.exactPermission = RoleSentinelContributor, true
		}
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
