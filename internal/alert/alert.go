// Package alert holds alerts, the inbound events that raise and update them,
// their timeline and attachments, and the status machine
// new → acknowledged → closed (with undo of both).
package alert

import (
	"encoding/json"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// Status is where an alert is in its lifecycle.
type Status string

// Alert statuses.
const (
	StatusNew          Status = "new"
	StatusAcknowledged Status = "acknowledged"
	StatusClosed       Status = "closed"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusNew || s == StatusAcknowledged || s == StatusClosed
}

// Alert is what people act on.
type Alert struct {
	ID             string           `json:"id"`
	TeamID         string           `json:"teamId"`
	Status         Status           `json:"status"`
	Title          string           `json:"title"`
	Text           string           `json:"text"`
	Severity       string           `json:"severity"`
	Category       string           `json:"category"`
	Scenario       string           `json:"scenario"`
	ExternalID     string           `json:"externalId"`
	SourceSystem   string           `json:"sourceSystem"`
	Location       string           `json:"location"`
	Params         []ingest.Param   `json:"params"`
	EventID        string           `json:"eventId"`
	EventCount     int              `json:"eventCount"`
	AcksRequired   int              `json:"acksRequired"`
	AcksReceived   int              `json:"acksReceived"`
	CreatedAt      time.Time        `json:"createdAt"`
	UpdatedAt      time.Time        `json:"updatedAt"`
	AcknowledgedAt *time.Time       `json:"acknowledgedAt,omitempty"`
	AcknowledgedBy string           `json:"acknowledgedBy,omitempty"`
	ClosedAt       *time.Time       `json:"closedAt,omitempty"`
	ClosedBy       string           `json:"closedBy,omitempty"`
	Attachments    []AttachmentInfo `json:"attachments,omitempty"`
}

// Actor is who or what changed an alert.
type Actor struct {
	Type string `json:"type"` // user, event, system
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// UserActor returns the actor for a user.
func UserActor(u team.User) Actor {
	name := u.Name
	if name == "" {
		name = u.Email
	}
	return Actor{Type: "user", ID: u.ID, Name: name}
}

// TimelineEntry is one line of an alert's append-only history.
type TimelineEntry struct {
	ID      int64     `json:"id"`
	AlertID string    `json:"alertId"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Actor   Actor     `json:"actor"`
	Text    string    `json:"text,omitempty"`
	EventID string    `json:"eventId,omitempty"`
}

// Timeline entry kinds.
const (
	KindCreated        = "created"
	KindDuplicate      = "duplicate"
	KindAcknowledged   = "acknowledged"
	KindUnacknowledged = "unacknowledged"
	KindClosed         = "closed"
	KindReopened       = "reopened"
	KindAnnotated      = "annotated"
	KindPlanned        = "planned"
	KindNotified       = "notified"
	KindNotifyFailed   = "notification_failed"
	KindEscalated      = "escalated"
	KindDelivered      = "delivered"
	KindThrottled      = "throttled"
)

// SystemActor is the engine acting on an alert.
func SystemActor() Actor { return Actor{Type: "system", Name: "lastmile"} }

// AttachmentInfo describes a stored attachment.
type AttachmentInfo struct {
	ID          string    `json:"id"`
	AlertID     string    `json:"alertId,omitempty"`
	EventID     string    `json:"eventId"`
	Name        string    `json:"name"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Service reads and changes alerts and events.
type Service struct {
	db    *store.DB
	batch *store.Batcher
	clock clock.Clock
	teams *team.Service
}

// NewService returns a Service. Inbound events are written through batch, so
// that concurrent senders share commits.
func NewService(db *store.DB, batch *store.Batcher, c clock.Clock, teams *team.Service) *Service {
	return &Service{db: db, batch: batch, clock: c, teams: teams}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with values that always marshal
	}
	return string(b)
}
