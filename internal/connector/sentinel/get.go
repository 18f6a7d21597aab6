package sentinel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// GetGraphIncidentWithAlerts reads one Graph incident with its alerts, as
// ListGraphIncidents returns each: a pushed incident then becomes the same
// alert a polled one would.
func (c *Client) GetGraphIncidentWithAlerts(ctx context.Context, id string) (GraphIncident, error) {
	var out GraphIncident
	what := "read Graph incident " + id
	p, err := graphIDPath("incidents", id)
	if err != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	req := c.graphRequest(http.MethodGet, c.graphURL(p, url.Values{"$expand": {"alerts"}}), what, PermIncidentRead)
	req.notFound = "Graph has no incident " + id
	resp, err := c.do(ctx, req)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return out, fmt.Errorf("%s: Graph's answer is not readable: %w", what, err)
	}
	return out, nil
}

// GetAlertV2 reads one Graph security alert (/security/alerts_v2/{id}).
func (c *Client) GetAlertV2(ctx context.Context, id string) (AlertV2, error) {
	var out AlertV2
	what := "read Graph alert " + id
	p, err := graphIDPath("alerts_v2", id)
	if err != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	req := c.graphRequest(http.MethodGet, c.graphURL(p, nil), what, PermAlertRead)
	req.notFound = "Graph has no alert " + id
	resp, err := c.do(ctx, req)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return out, fmt.Errorf("%s: Graph's answer is not readable: %w", what, err)
	}
	return out, nil
}
