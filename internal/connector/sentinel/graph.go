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

// preferUnknownEnums makes Graph send enum values newer than v1.0's list
// (serviceSource microsoftSentinel, detectionSource scheduledAlerts…)
// instead of "unknownFutureValue".
const preferUnknownEnums = "include-unknown-enum-members"

func (c *Client) graphURL(path string, q url.Values) string {
	u := c.ep.Graph + "/v1.0" + path
	if len(q) > 0 {
		u += "?" + encodeQuery(q)
	}
	return u
}

func (c *Client) graphRequest(method, rawURL, what, perm string) request {
	return request{
		service: ServiceGraph, what: what, method: method, url: rawURL, scope: ScopeGraph,
		header:     http.Header{"Prefer": {preferUnknownEnums}},
		idempotent: method != http.MethodPost, permission: perm,
	}
}

// graphList reads every page of a Graph collection.
func graphList[T any](ctx context.Context, c *Client, first, what, perm string, header http.Header) ([]T, error) {
	var out []T
	next := first
	for page := 0; next != ""; page++ {
		if page >= maxPages {
			return out, fmt.Errorf("%s: more than %d pages", what, maxPages)
		}
		if page > 0 {
			if err := checkNextLink(next, c.ep.Graph); err != nil {
				return out, fmt.Errorf("%s: %w", what, err)
			}
		}
		req := c.graphRequest(http.MethodGet, next, what, perm)
		if header != nil {
			req.header = header
		}
		resp, err := c.do(ctx, req)
		if err != nil {
			return out, err
		}
		if resp.status == http.StatusPartialContent {
			// Legacy alerts: some providers failed; the rest is usable.
			c.log.Warn("Graph answered with part of the alerts", "call", what, "warning", resp.header.Values("Warning"))
		}
		var body struct {
			Value    []T    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(resp.body, &body); err != nil {
			return out, fmt.Errorf("%s: Graph's answer is not a list: %w", what, err)
		}
		out = append(out, body.Value...)
		next = body.NextLink
	}
	return out, nil
}

func graphIDPath(collection, id string) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", errors.New("id is empty")
	}
	return "/security/" + collection + "/" + url.PathEscape(id), nil
}

// updatedSince is the filter for items changed since t, with any of the
// statuses.
func updatedSince(field string, since time.Time, statuses []string) string {
	var s string
	if !since.IsZero() {
		s = field + " ge " + odataTime(since)
	}
	return and(s, anyOf("status", statuses))
}

// ListGraphIncidents returns the incidents updated since since (all when
// zero) with their alerts, in any of statuses (all when empty).
func (c *Client) ListGraphIncidents(ctx context.Context, since time.Time, statuses []string) ([]GraphIncident, error) {
	q := url.Values{"$expand": {"alerts"}}
	if f := updatedSince("lastUpdateDateTime", since, statuses); f != "" {
		q.Set("$filter", f)
	}
	return graphList[GraphIncident](ctx, c, c.graphURL("/security/incidents", q), "list Graph incidents", PermIncidentRead, nil)
}

// UpdateGraphIncident changes a Graph incident and returns it as saved.
func (c *Client) UpdateGraphIncident(ctx context.Context, id string, p GraphIncidentPatch) (GraphIncident, error) {
	var out GraphIncident
	if p == (GraphIncidentPatch{}) {
		return out, errors.New("update Graph incident: nothing to change")
	}
	err := c.graphPatch(ctx, "incidents", id, "update Graph incident "+id, PermIncidentReadWrite, p, &out)
	return out, err
}

// CommentGraphIncident adds a comment to a Graph incident.
func (c *Client) CommentGraphIncident(ctx context.Context, id, comment string) error {
	return c.graphComment(ctx, "incidents", id, "comment on Graph incident "+id, PermIncidentReadWrite, comment)
}

// ListAlertsV2 returns the alerts updated since since (all when zero), in
// any of statuses (all when empty).
func (c *Client) ListAlertsV2(ctx context.Context, since time.Time, statuses []string) ([]AlertV2, error) {
	q := url.Values{}
	if f := updatedSince("lastUpdateDateTime", since, statuses); f != "" {
		q.Set("$filter", f)
	}
	return graphList[AlertV2](ctx, c, c.graphURL("/security/alerts_v2", q), "list Graph alerts", PermAlertRead, nil)
}

// UpdateAlertV2 changes a Graph alert and returns it as saved.
func (c *Client) UpdateAlertV2(ctx context.Context, id string, p AlertV2Patch) (AlertV2, error) {
	var out AlertV2
	if p == (AlertV2Patch{}) {
		return out, errors.New("update Graph alert: nothing to change")
	}
	err := c.graphPatch(ctx, "alerts_v2", id, "update Graph alert "+id, PermAlertReadWrite, p, &out)
	return out, err
}

// CommentAlertV2 adds a comment to a Graph alert.
func (c *Client) CommentAlertV2(ctx context.Context, id, comment string) error {
	return c.graphComment(ctx, "alerts_v2", id, "comment on Graph alert "+id, PermAlertReadWrite, comment)
}

func (c *Client) graphPatch(ctx context.Context, collection, id, what, perm string, patch, out any) error {
	p, err := graphIDPath(collection, id)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	req := c.graphRequest(http.MethodPatch, c.graphURL(p, nil), what, perm)
	req.notFound = fmt.Sprintf("Graph has no %s %s", strings.TrimSuffix(strings.TrimSuffix(collection, "_v2"), "s"), id)
	if req, err = jsonRequest(req, patch); err != nil {
		return err
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	if len(resp.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("%s: Graph's answer is not readable: %w", what, err)
	}
	return nil
}

func (c *Client) graphComment(ctx context.Context, collection, id, what, perm, comment string) error {
	p, err := graphIDPath(collection, id)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if strings.TrimSpace(comment) == "" {
		return fmt.Errorf("%s: comment is empty", what)
	}
	req := c.graphRequest(http.MethodPost, c.graphURL(p+"/comments", nil), what, perm)
	req.notFound = fmt.Sprintf("Graph has no %s %s", strings.TrimSuffix(strings.TrimSuffix(collection, "_v2"), "s"), id)
	req, err = jsonRequest(req, map[string]string{"@odata.type": "microsoft.graph.security.alertComment", "comment": comment})
	if err != nil {
		return err
	}
	_, err = c.do(ctx, req)
	return err
}

// ListLegacyAlerts returns legacy alerts whose event time is at or after
// since (all when zero). The legacy API documents filtering on
// eventDateTime (Microsoft's own workaround for its $skip cap), with the
// literal unquoted.
func (c *Client) ListLegacyAlerts(ctx context.Context, since time.Time) ([]LegacyAlert, error) {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("$filter", "eventDateTime ge "+since.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z"))
	}
	return graphList[LegacyAlert](ctx, c, c.graphURL("/security/alerts", q), "list legacy Graph alerts", PermLegacyAlertRead, http.Header{})
}

// UpdateLegacyAlert changes a legacy alert. Graph requires the alert's
// vendorInformation (provider and vendor) on every update, so it is
// always sent.
func (c *Client) UpdateLegacyAlert(ctx context.Context, id string, p LegacyAlertPatch, vendor VendorInformation) error {
	what := "update legacy Graph alert " + id
	if strings.TrimSpace(vendor.Provider) == "" || strings.TrimSpace(vendor.Vendor) == "" {
		return fmt.Errorf("%s: the alert's vendorInformation provider and vendor are needed", what)
	}
	path, err := graphIDPath("alerts", id)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	body := struct {
		LegacyAlertPatch
		ClosedDateTime    *string           `json:"closedDateTime,omitempty"`
		VendorInformation VendorInformation `json:"vendorInformation"`
	}{LegacyAlertPatch: p, VendorInformation: vendor}
	if p.ClosedDateTime != nil {
		s := p.ClosedDateTime.UTC().Format(time.RFC3339Nano)
		body.ClosedDateTime = &s
	}
	req := c.graphRequest(http.MethodPatch, c.graphURL(path, nil), what, PermLegacyAlertReadWrite)
	req.header = http.Header{}
	req.notFound = "Graph has no legacy alert " + id
	if req, err = jsonRequest(req, body); err != nil {
		return err
	}
	_, err = c.do(ctx, req) // 204, or 200 with the alert
	return err
}
