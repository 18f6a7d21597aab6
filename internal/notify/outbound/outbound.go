// Package outbound sends a team's events to the HTTP endpoints its admins
// registered, in SIGNL4's outbound webhook format ("2-way integrations"):
// alert created, status changed, escalated and annotated, duty started and
// ended, punched in and out. Triggers in the database write one row per
// enabled webhook into webhook_deliveries in the transaction that records
// the event; the Deliverer posts those rows, signed, and retries them with
// backoff. The Service lets team admins manage the webhooks.
package outbound

import (
	"slices"
	"time"
)

// Event types, as SIGNL4 numbers them.
const (
	EventTest        = 1
	EventCreated     = 200
	EventStatus      = 201 // acknowledged, unacknowledged, closed, reopened
	EventEscalated   = 202
	EventAnnotated   = 203
	EventDutyStarted = 300
	EventDutyEnded   = 301
	EventPunchedIn   = 302
	EventPunchedOut  = 303
)

// maxWebhooksOfTeam bounds the requests one event can cause.
const maxWebhooksOfTeam = 20

// eventTypes are the types a webhook can subscribe to, in order.
var eventTypes = []int{EventTest, EventCreated, EventStatus, EventEscalated, EventAnnotated,
	EventDutyStarted, EventDutyEnded, EventPunchedIn, EventPunchedOut}

func knownEvent(t int) bool { return slices.Contains(eventTypes, t) }

// Options configure the Service.
type Options struct {
	// AllowPrivate lets webhooks use http and targets on private,
	// loopback and link-local addresses (--allow-private-webhooks).
	AllowPrivate bool
	// BaseURL is where this server is reached: a webhook may not point at
	// its own inbound routes, or every event would raise another.
	BaseURL string
	// Resolver looks host names up when a webhook is saved; nil is the
	// system resolver.
	Resolver Resolver
}

// Webhook is a team's outbound webhook, as shown to its admins. The secret
// is never part of it: it is shown once, at creation and rotation.
type Webhook struct {
	ID        string    `json:"id"`
	TeamID    string    `json:"teamId"`
	URL       string    `json:"url"`
	Events    []int     `json:"events"` // empty: all
	Enabled   bool      `json:"enabled"`
	CreatedAt time.Time `json:"createdAt"`
	// LastStatus is what became of the latest delivery attempt: "" (none
	// yet), "sent", "retrying" or "failed"; LastError says why.
	LastStatus string     `json:"lastStatus"`
	LastError  string     `json:"lastError"`
	LastAt     *time.Time `json:"lastAt,omitempty"`
}

// wants reports whether the webhook subscribes to event type t. Test
// events go to every webhook that asks for one.
func (w Webhook) wants(t int) bool {
	return t == EventTest || len(w.Events) == 0 || slices.Contains(w.Events, t)
}

// Delivery is one event on its way to one webhook.
type Delivery struct {
	// EventID is the payload's id: the same on every attempt, so that
	// receivers can drop duplicates.
	EventID   string    `json:"eventId"`
	EventType int       `json:"eventType"`
	Source    string    `json:"source"` // timeline, duty or test
	SourceID  string    `json:"sourceId"`
	CreatedAt time.Time `json:"createdAt"`
	// Status is pending (waiting for its first or next attempt), sending,
	// sent or failed (gave up).
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	NextAt    *time.Time `json:"nextAttemptAt,omitempty"` // pending only
	LastError string     `json:"lastError"`
	SentAt    *time.Time `json:"sentAt,omitempty"`
}
