// Package connector links a team to a source of security incidents
// (Microsoft Sentinel, Microsoft Graph security) both ways: it polls the
// source for changes since a durable watermark, opens an alert per new
// incident for the members on duty, follows changes made at the source
// (closed there: closed here), and writes back what responders do
// (acknowledged: the incident is Active with them as owner; annotations
// become comments; closed: closed with the configured classification).
//
// The core here knows nothing of Microsoft: a Source (see microsoft.go)
// speaks to the service. Everything the connector does is driven from
// tables (connectors, connector_items, connector_writebacks), so a restart
// loses nothing and any number of instances share the work: polls are
// leased, write-backs claimed.
package connector

import (
	"context"
	"encoding/json"
	"time"

	"github.com/lastmile/lastmile/internal/ingest"
)

// Item is one incident (or alert) as the source reports it.
type Item struct {
	ExternalID string
	Title      string
	Text       string
	Severity   string // lastmile's: info, low, medium, high, critical
	// Status is the source's, normalised: new, active, closed or
	// redirected (merged into RedirectTo).
	Status     string
	RedirectTo string
	Owner      string // who owns it at the source, "" for nobody
	// Open says the item passes the connector's filters (statuses,
	// severities, products) for opening an alert. Items that do not are
	// still returned, so changes to linked ones are followed.
	Open     bool
	Modified time.Time
	Params   []ingest.Param
	// Attachments are added by Enrich (query results, linked alerts).
	Attachments []ingest.Attachment
	// Raw is the source's own record, stored as the alert's event.
	Raw json.RawMessage
	// Group names what the item belongs to at the source (the incident
	// of a Graph alert), for GroupApplier.
	Group string
}

// Change is a responder's action (or a lifecycle step) to write back.
type Change struct {
	Kind    string // created, acknowledged, unacknowledged, closed, reopened, annotated, escalated, notified
	AlertID string
	Title   string
	// ByUser is true when a member did it (not the source, not the
	// system): only those change the incident.
	ByUser bool
	By     string // display name
	Email  string // the member's email, for the owner field
	Text   string // the annotation, or the timeline's words
	At     time.Time
}

// Check is one thing a connection test proved or failed.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Source is a service the connector reads incidents from and writes
// responders' actions to.
type Source interface {
	// Changes returns the items modified since, oldest change first.
	Changes(ctx context.Context, since time.Time) ([]Item, error)
	// Enrich adds to a new item what takes further calls: its linked
	// alerts, entities, query results. Failing to enrich does not stop
	// the alert.
	Enrich(ctx context.Context, it *Item) error
	// Apply writes one change back to the item externalID.
	Apply(ctx context.Context, externalID string, c Change) error
	// Check tests the connection and the permissions the settings need.
	Check(ctx context.Context) []Check
}

// Logger is a Source that also writes lifecycle records to a log table.
type Logger interface {
	Log(ctx context.Context, externalID string, c Change) error
}

// GroupApplier is a Source whose items belong to groups (Graph alerts to
// incidents): once every item of a group lastmile holds is acknowledged
// (or closed), the group is told so too.
type GroupApplier interface {
	ApplyGroup(ctx context.Context, group string, c Change) error
}

// Kind describes one kind of source an administrator configures.
type Kind struct {
	Name string
	// Sources are the source modes of the kind (sentinel, graph_incidents, …).
	Sources []string
	// Secrets are the settings' top-level fields never shown again.
	Secrets []string
	// Build checks settings and returns the source for mode.
	Build func(mode string, settings json.RawMessage) (Source, error)
}
