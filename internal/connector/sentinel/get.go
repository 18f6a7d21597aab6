package sentinel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// graphGet reads one Graph security item at /security/{collection}/{id};
// kind names it in errors ("incident", "alert").
func graphGet[T any](ctx context.Context, c *Client, collection, kind, id string, q url.Values, perm string) (T, error) {
	var out T
	what := "read Graph " + kind + " " + id
	p, err := graphIDPath(collection, id)
	if err != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	req := c.graphRequest(http.MethodGet, c.graphURL(p, q), what, perm)
	req.notFound = "Graph has no " + kind + " " + id
	resp, err := c.do(ctx, req)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return out, fmt.Errorf("%s: Graph's answer is not readable: %w", what, err)
	}
	return out, nil
}

// GetGraphIncident reads one Graph incident.
func (c *Client) GetGraphIncident(ctx context.Context, id string) (GraphIncident, error) {
	return graphGet[GraphIncident](ctx, c, "incidents", "incident", id, nil, PermIncidentRead)
}

// GetGraphIncidentWithAlerts reads one Graph incident with its alerts, as
// ListGraphIncidents returns each: a pushed incident then becomes the same
// alert a polled one would.
func (c *Client) GetGraphIncidentWithAlerts(ctx context.Context, id string) (GraphIncident, error) {
	return graphGet[GraphIncident](ctx, c, "incidents", "incident", id, url.Values{"$expand": {"alerts"}}, PermIncidentRead)
}

// GetAlertV2 reads one Graph security alert (/security/alerts_v2/{id}).
func (c *Client) GetAlertV2(ctx context.Context, id string) (AlertV2, error) {
	return graphGet[AlertV2](ctx, c, "alerts_v2", "alert", id, nil, PermAlertRead)
}
