package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// Event is a stored inbound request.
type Event struct {
	ID            string            `json:"id"`
	TeamID        string            `json:"teamId"`
	ReceivedAt    time.Time         `json:"receivedAt"`
	Source        string            `json:"source"`
	RemoteAddr    string            `json:"remoteAddr"`
	ContentType   string            `json:"contentType"`
	Query         string            `json:"query"`
	Headers       map[string]string `json:"headers"`
	Body          string            `json:"body"`
	BodyTruncated bool              `json:"bodyTruncated"`
	Status        string            `json:"status"`
	Reason        string            `json:"reason"`
	ExternalID    string            `json:"externalId"`
	AlertID       string            `json:"alertId,omitempty"`
	Parsed        json.RawMessage   `json:"parsed"`
	Attachments   []AttachmentInfo  `json:"attachments,omitempty"`
}

// EventFilter selects events.
type EventFilter struct {
	TeamIDs []string // nil: all; empty: none
	Status  string
	AlertID string
	Cursor  string
	Limit   int
}

var eventStatuses = []string{EventCreated, EventUpdated, EventDiscarded, EventFiltered, EventRejected}

const eventCols = `id, team_id, received_at, source, remote_addr, content_type, query, headers, body, body_truncated, status, reason, external_id, COALESCE(alert_id, ''), parsed`

func scanEvent(row interface{ Scan(...any) error }) (Event, error) {
	var e Event
	var at int64
	var headers, parsed string
	var body []byte
	err := row.Scan(&e.ID, &e.TeamID, &at, &e.Source, &e.RemoteAddr, &e.ContentType, &e.Query, &headers, &body, &e.BodyTruncated, &e.Status, &e.Reason, &e.ExternalID, &e.AlertID, &parsed)
	if err != nil {
		return Event{}, err
	}
	e.ReceivedAt, e.Body, e.Parsed = store.FromMicros(at), strings.ToValidUTF8(string(body), "\uFFFD"), json.RawMessage(parsed)
	if err := json.Unmarshal([]byte(headers), &e.Headers); err != nil {
		return Event{}, fmt.Errorf("event %s headers: %w", e.ID, err)
	}
	return e, nil
}

// Event returns one stored event with its attachments.
func (s *Service) Event(ctx context.Context, id string) (Event, error) {
	e, err := scanEvent(s.db.QueryRow(ctx, `SELECT `+eventCols+` FROM events WHERE id = ?`, id))
	if err != nil {
		return Event{}, store.NotFound(err, "event "+id)
	}
	if e.Attachments, err = s.attachments(ctx, `event_id = ?`, id); err != nil {
		return Event{}, err
	}
	return e, nil
}

// Events lists events newest first, and the cursor for the next page.
func (s *Service) Events(ctx context.Context, f EventFilter) ([]Event, string, error) {
	if f.TeamIDs != nil && len(f.TeamIDs) == 0 {
		return []Event{}, "", nil
	}
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = 50
	}
	var where []string
	var args []any
	if f.TeamIDs != nil {
		where = append(where, `team_id IN (`+store.Placeholders(len(f.TeamIDs))+`)`)
		for _, t := range f.TeamIDs {
			args = append(args, t)
		}
	}
	if f.Status != "" {
		if !contains(eventStatuses, f.Status) {
			return nil, "", apperr.New(apperr.Invalid, "event status %q: use one of %s", f.Status, strings.Join(eventStatuses, ", "))
		}
		where, args = append(where, `status = ?`), append(args, f.Status)
	}
	if f.AlertID != "" {
		where, args = append(where, `alert_id = ?`), append(args, f.AlertID)
	}
	if f.Cursor != "" {
		where, args = append(where, `id < ?`), append(args, f.Cursor)
	}
	q := `SELECT ` + eventCols + ` FROM events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, f.Limit+1)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, "", fmt.Errorf("scan event: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list events: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
