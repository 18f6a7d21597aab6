package alert

import (
	"context"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// transition is one edge of the status machine. Each is a single conditional
// UPDATE, so two people acting at once cannot both win.
type transition struct {
	name   string
	kind   string   // timeline entry kind
	from   []Status // statuses it may start from
	update string   // args: now, actor name, id
}

var (
	acknowledge = transition{"acknowledge", KindAcknowledged, []Status{StatusNew},
		`UPDATE alerts SET status = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?, updated_at = ?, acks_received = acks_required WHERE id = ? AND status = 'new'`}
	undoAcknowledge = transition{"undo-acknowledge", KindUnacknowledged, []Status{StatusAcknowledged},
		`UPDATE alerts SET status = 'new', acknowledged_at = NULL, acknowledged_by = '', acks_received = 0, updated_at = ? WHERE id = ? AND status = 'acknowledged'`}
	closeAlert = transition{"close", KindClosed, []Status{StatusNew, StatusAcknowledged},
		`UPDATE alerts SET status = 'closed', closed_at = ?, closed_by = ?, updated_at = ? WHERE id = ? AND status <> 'closed'`}
	// Undoing a close returns the alert to where it was before.
	undoClose = transition{"undo-close", KindReopened, []Status{StatusClosed},
		`UPDATE alerts SET status = CASE WHEN acknowledged_at IS NULL THEN 'new' ELSE 'acknowledged' END, closed_at = NULL, closed_by = '', updated_at = ? WHERE id = ? AND status = 'closed'`}
)

// Transitions by the name the API uses.
var transitions = map[string]transition{
	acknowledge.name:     acknowledge,
	undoAcknowledge.name: undoAcknowledge,
	closeAlert.name:      closeAlert,
	undoClose.name:       undoClose,
}

// ValidAction reports whether name is a status action.
func ValidAction(name string) bool { _, ok := transitions[name]; return ok }

func (t transition) apply(ctx context.Context, tx *store.Tx, id string, a Actor, now time.Time, note, eventID string) (bool, error) {
	var args []any
	switch t.name {
	case acknowledge.name, closeAlert.name:
		args = []any{store.Micros(now), a.Name, store.Micros(now), id}
	default:
		args = []any{store.Micros(now), id}
	}
	res, err := tx.Exec(ctx, t.update, args...)
	if store.IsUniqueViolation(err) {
		return false, apperr.New(apperr.Conflict, "cannot undo-close: another alert with the same external id is open")
	}
	if err != nil {
		return false, fmt.Errorf("%s alert: %w", t.name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var cur Status
		if err := tx.QueryRow(ctx, `SELECT status FROM alerts WHERE id = ?`, id).Scan(&cur); err != nil {
			return false, store.NotFound(err, "alert "+id)
		}
		return false, apperr.New(apperr.Conflict, "cannot %s an alert that is %s", t.name, cur)
	}
	if err := t.steerEngine(ctx, tx, id, a, now); err != nil {
		return false, err
	}
	return true, addTimeline(ctx, tx, id, now, t.kind, a, note, eventID)
}

// steerEngine tells the engine, in the transaction of the change, what the
// change means for notifying: acknowledging or closing stops every message
// not yet handed to a provider; undoing an acknowledgement plans the alert
// anew.
func (t transition) steerEngine(ctx context.Context, tx *store.Tx, id string, a Actor, now time.Time) error {
	at := store.Micros(now)
	type stmt struct {
		q    string
		args []any
	}
	cancelPending := stmt{`UPDATE notifications SET status = 'cancelled' WHERE alert_id = ? AND status = 'pending'`, []any{id}}
	var stmts []stmt
	switch t.name {
	case acknowledge.name:
		if a.Type == "user" {
			stmts = append(stmts, stmt{`INSERT INTO alert_acks (alert_id, user_id, at) VALUES (?, ?, ?) ON CONFLICT (alert_id, user_id) DO NOTHING`, []any{id, a.ID, at}})
		}
		stmts = append(stmts, cancelPending,
			// With a team ack timeout, the engine reminds whoever
			// acknowledged if the alert is still not closed by then.
			stmt{`UPDATE alert_engine SET state = 'done', next_escalation_at = NULL, updated_at = ?,
				ack_timeout_at = (SELECT CASE WHEN t.ack_timeout_seconds > 0 THEN ? + t.ack_timeout_seconds * 1000000 END FROM teams t WHERE t.id = alert_engine.team_id)
				WHERE alert_id = ?`, []any{at, at, id}})
	case closeAlert.name:
		stmts = append(stmts, cancelPending,
			stmt{`UPDATE alert_engine SET state = 'done', next_escalation_at = NULL, ack_timeout_at = NULL, updated_at = ? WHERE alert_id = ?`, []any{at, id}})
	case undoAcknowledge.name:
		stmts = append(stmts,
			stmt{`DELETE FROM alert_acks WHERE alert_id = ?`, []any{id}},
			stmt{`UPDATE alert_engine SET state = 'planning', next_escalation_at = NULL, ack_timeout_at = NULL, updated_at = ? WHERE alert_id = ?`, []any{at, id}})
	case undoClose.name:
		// Back to new (never acknowledged): notify again; back to
		// acknowledged: nothing to send.
		stmts = append(stmts, stmt{`UPDATE alert_engine SET state = 'planning', next_escalation_at = NULL, updated_at = ? WHERE alert_id = ?
			AND EXISTS (SELECT 1 FROM alerts WHERE id = alert_engine.alert_id AND status = 'new')`, []any{at, id}})
	}
	// Chat messages already sent show the alert's status: have the engine
	// update them.
	stmts = append(stmts, stmt{`UPDATE notifications SET update_due = ? WHERE alert_id = ? AND status = 'sent' AND channel IN (` + statusShownOn + `)`, []any{at, id}})
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("steer engine: %w", err)
		}
	}
	return nil
}

// statusShownOn lists the channels whose messages show an alert's status
// and are updated when it changes.
const statusShownOn = `'slack', 'teams'`

// Transition applies a status action (acknowledge, undo-acknowledge, close,
// undo-close) to the alert. An action that the alert's status does not allow
// fails with a Conflict error. allowed checks the caller may act on the
// alert's team.
func (s *Service) Transition(ctx context.Context, id, action string, a Actor, note string, allowed func(teamID string) bool) (Alert, error) {
	t, ok := transitions[action]
	if !ok {
		return Alert{}, apperr.New(apperr.Invalid, "unknown action %q", action)
	}
	al, err := s.Get(ctx, id)
	if err != nil {
		return Alert{}, err
	}
	if !allowed(al.TeamID) {
		return Alert{}, apperr.New(apperr.NotFound, "alert %s not found", id)
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if t.name == acknowledge.name && a.Type == "user" && al.AcksRequired > 1 {
			return s.partialAck(ctx, tx, id, a, note)
		}
		_, err := t.apply(ctx, tx, id, a, s.clock.Now(), note, "")
		return err
	})
	if err != nil {
		return Alert{}, err
	}
	return s.Get(ctx, id)
}

// partialAck counts one member's acknowledgement of an alert that needs
// several (multi_ack): that member is no longer notified, and the alert
// becomes acknowledged with the last acknowledgement it needs.
func (s *Service) partialAck(ctx context.Context, tx *store.Tx, id string, a Actor, note string) error {
	now := s.clock.Now()
	res, err := tx.Exec(ctx, `INSERT INTO alert_acks (alert_id, user_id, at) VALUES (?, ?, ?) ON CONFLICT (alert_id, user_id) DO NOTHING`, id, a.ID, store.Micros(now))
	if err != nil {
		return fmt.Errorf("record acknowledgement: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.Conflict, "cannot acknowledge: you have already acknowledged this alert")
	}
	res, err = tx.Exec(ctx, `UPDATE alerts SET acks_received = acks_received + 1, updated_at = ? WHERE id = ? AND status = 'new'`, store.Micros(now), id)
	if err != nil {
		return fmt.Errorf("count acknowledgement: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var cur Status
		if err := tx.QueryRow(ctx, `SELECT status FROM alerts WHERE id = ?`, id).Scan(&cur); err != nil {
			return store.NotFound(err, "alert "+id)
		}
		return apperr.New(apperr.Conflict, "cannot acknowledge an alert that is %s", cur)
	}
	var got, need int
	if err := tx.QueryRow(ctx, `SELECT acks_received, acks_required FROM alerts WHERE id = ?`, id).Scan(&got, &need); err != nil {
		return err
	}
	if got >= need {
		_, err := acknowledge.apply(ctx, tx, id, a, now, note, "")
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE notifications SET status = 'cancelled' WHERE alert_id = ? AND user_id = ? AND status = 'pending'`, id, a.ID); err != nil {
		return fmt.Errorf("stop notifying: %w", err)
	}
	text := fmt.Sprintf("acknowledgement %d of %d", got, need)
	if note != "" {
		text += ": " + note
	}
	return addTimeline(ctx, tx, id, now, KindAcknowledged, a, text, "")
}

// EscalateNow asks the engine to escalate the alert at once rather than at
// the end of the target response time.
func (s *Service) EscalateNow(ctx context.Context, id string, a Actor, allowed func(teamID string) bool) (Alert, error) {
	al, err := s.Get(ctx, id)
	if err != nil {
		return Alert{}, err
	}
	if !allowed(al.TeamID) {
		return Alert{}, apperr.New(apperr.NotFound, "alert %s not found", id)
	}
	now := s.clock.Now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE alert_engine SET next_escalation_at = ?, updated_at = ? WHERE alert_id = ? AND state = 'active'
			AND EXISTS (SELECT 1 FROM alerts WHERE id = alert_engine.alert_id AND status = 'new')`, store.Micros(now), store.Micros(now), id)
		if err != nil {
			return fmt.Errorf("escalate: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.Conflict, "cannot escalate: the alert is %s, or its notifications are not planned yet", al.Status)
		}
		return addTimeline(ctx, tx, id, now, KindEscalated, a, "escalation requested", "")
	})
	if err != nil {
		return Alert{}, err
	}
	return s.Get(ctx, id)
}

// BulkResult is the outcome of a bulk action for one alert.
type BulkResult struct {
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Status Status `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Bulk applies action to each alert and reports each outcome.
func (s *Service) Bulk(ctx context.Context, ids []string, action string, a Actor, note string, allowed func(teamID string) bool) ([]BulkResult, error) {
	if !ValidAction(action) {
		return nil, apperr.New(apperr.Invalid, "unknown action %q", action)
	}
	out := make([]BulkResult, 0, len(ids))
	for _, id := range ids {
		al, err := s.Transition(ctx, id, action, a, note, allowed)
		if err != nil {
			if apperr.KindOf(err) == apperr.Internal {
				return nil, err
			}
			msg := err.Error()
			if e, ok := apperr.As(err); ok {
				msg = e.Message
			}
			out = append(out, BulkResult{ID: id, Error: msg})
			continue
		}
		out = append(out, BulkResult{ID: id, OK: true, Status: al.Status})
	}
	return out, nil
}

// Annotate adds a note to the alert's timeline.
func (s *Service) Annotate(ctx context.Context, id string, a Actor, text string, allowed func(teamID string) bool) (TimelineEntry, error) {
	if text == "" || len(text) > 10000 {
		return TimelineEntry{}, apperr.New(apperr.Invalid, "annotation text must have 1 to 10000 characters")
	}
	al, err := s.Get(ctx, id)
	if err != nil {
		return TimelineEntry{}, err
	}
	if !allowed(al.TeamID) {
		return TimelineEntry{}, apperr.New(apperr.NotFound, "alert %s not found", id)
	}
	e := TimelineEntry{AlertID: id, At: s.clock.Now(), Kind: KindAnnotated, Actor: a, Text: text}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE alerts SET updated_at = ? WHERE id = ?`, store.Micros(e.At), id); err != nil {
			return fmt.Errorf("touch alert: %w", err)
		}
		return tx.QueryRow(ctx, `INSERT INTO timeline (alert_id, at, kind, actor_type, actor_id, actor_name, text) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			id, store.Micros(e.At), e.Kind, a.Type, a.ID, a.Name, text).Scan(&e.ID)
	})
	if err != nil {
		return TimelineEntry{}, fmt.Errorf("annotate: %w", err)
	}
	return e, nil
}
