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

const alertCols = `id, team_id, status, title, text, severity, category, scenario, COALESCE(external_id, ''), source_system, location, params,
	event_id, event_count, acks_required, acks_received, created_at, updated_at, acknowledged_at, acknowledged_by, closed_at, closed_by`

func scanAlert(row interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	var params string
	var created, updated int64
	var acked, closed *int64
	err := row.Scan(&a.ID, &a.TeamID, &a.Status, &a.Title, &a.Text, &a.Severity, &a.Category, &a.Scenario, &a.ExternalID, &a.SourceSystem, &a.Location, &params,
		&a.EventID, &a.EventCount, &a.AcksRequired, &a.AcksReceived, &created, &updated, &acked, &a.AcknowledgedBy, &closed, &a.ClosedBy)
	if err != nil {
		return Alert{}, err
	}
	if err := json.Unmarshal([]byte(params), &a.Params); err != nil {
		return Alert{}, fmt.Errorf("alert %s params: %w", a.ID, err)
	}
	a.CreatedAt, a.UpdatedAt, a.AcknowledgedAt, a.ClosedAt = store.FromMicros(created), store.FromMicros(updated), store.OptTime(acked), store.OptTime(closed)
	return a, nil
}

// Get returns the alert with its attachment list.
func (s *Service) Get(ctx context.Context, id string) (Alert, error) {
	a, err := scanAlert(s.db.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
	if err != nil {
		return Alert{}, store.NotFound(err, "alert "+id)
	}
	if a.Attachments, err = s.attachments(ctx, `alert_id = ?`, id); err != nil {
		return Alert{}, err
	}
	return a, nil
}

// Filter selects alerts for List. Empty fields select everything.
type Filter struct {
	TeamIDs    []string // nil: all teams; empty: none
	Statuses   []Status
	ExternalID string
	Search     string // in title and text, case-insensitive
	Since      time.Time
	Until      time.Time
	Cursor     string // the last id of the previous page
	Limit      int
}

// MaxPage is the largest page List returns.
const MaxPage = 500

// List returns alerts newest first, and the cursor for the next page ("" at
// the end).
func (s *Service) List(ctx context.Context, f Filter) ([]Alert, string, error) {
	if f.TeamIDs != nil && len(f.TeamIDs) == 0 {
		return []Alert{}, "", nil
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
	if len(f.Statuses) > 0 {
		where = append(where, `status IN (`+store.Placeholders(len(f.Statuses))+`)`)
		for _, st := range f.Statuses {
			if !st.Valid() {
				return nil, "", apperr.New(apperr.Invalid, "status %q: use new, acknowledged or closed", st)
			}
			args = append(args, string(st))
		}
	}
	if f.ExternalID != "" {
		where, args = append(where, `external_id = ?`), append(args, f.ExternalID)
	}
	if f.Search != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(f.Search)) + "%"
		where, args = append(where, `(LOWER(title) LIKE ? ESCAPE '\' OR LOWER(text) LIKE ? ESCAPE '\')`), append(args, like, like)
	}
	if !f.Since.IsZero() {
		where, args = append(where, `created_at >= ?`), append(args, store.Micros(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, `created_at < ?`), append(args, store.Micros(f.Until))
	}
	if f.Cursor != "" {
		where, args = append(where, `id < ?`), append(args, f.Cursor)
	}
	q := `SELECT ` + alertCols + ` FROM alerts`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, f.Limit+1)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, "", fmt.Errorf("scan alert: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// Timeline returns the alert's history, oldest first.
func (s *Service) Timeline(ctx context.Context, alertID string) ([]TimelineEntry, error) {
	rows, err := s.db.Query(ctx, `SELECT id, alert_id, at, kind, actor_type, actor_id, actor_name, text, COALESCE(event_id, '') FROM timeline WHERE alert_id = ? ORDER BY id`, alertID)
	if err != nil {
		return nil, fmt.Errorf("read timeline: %w", err)
	}
	defer rows.Close()
	out := []TimelineEntry{}
	for rows.Next() {
		var e TimelineEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.AlertID, &at, &e.Kind, &e.Actor.Type, &e.Actor.ID, &e.Actor.Name, &e.Text, &e.EventID); err != nil {
			return nil, fmt.Errorf("scan timeline: %w", err)
		}
		e.At = store.FromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Service) attachments(ctx context.Context, where string, arg any) ([]AttachmentInfo, error) {
	rows, err := s.db.Query(ctx, `SELECT id, COALESCE(alert_id, ''), event_id, name, content_type, size, created_at FROM attachments WHERE `+where+` ORDER BY created_at, id`, arg)
	if err != nil {
		return nil, fmt.Errorf("list attachments: %w", err)
	}
	defer rows.Close()
	var out []AttachmentInfo
	for rows.Next() {
		var a AttachmentInfo
		var created int64
		if err := rows.Scan(&a.ID, &a.AlertID, &a.EventID, &a.Name, &a.ContentType, &a.Size, &created); err != nil {
			return nil, fmt.Errorf("scan attachment: %w", err)
		}
		a.CreatedAt = store.FromMicros(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Attachment returns one attachment with its content and its team.
func (s *Service) Attachment(ctx context.Context, id string) (AttachmentInfo, string, []byte, error) {
	var a AttachmentInfo
	var teamID string
	var data []byte
	var created int64
	err := s.db.QueryRow(ctx, `SELECT id, COALESCE(alert_id, ''), event_id, team_id, name, content_type, size, data, created_at FROM attachments WHERE id = ?`, id).
		Scan(&a.ID, &a.AlertID, &a.EventID, &teamID, &a.Name, &a.ContentType, &a.Size, &data, &created)
	if err != nil {
		return AttachmentInfo{}, "", nil, store.NotFound(err, "attachment "+id)
	}
	a.CreatedAt = store.FromMicros(created)
	return a, teamID, data, nil
}
