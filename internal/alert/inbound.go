package alert

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// Event statuses: what became of an inbound request.
const (
	EventCreated   = "created"
	EventUpdated   = "updated"
	EventDiscarded = "discarded"
	EventFiltered  = "filtered"
	EventRejected  = "rejected"
)

// Raw is an inbound request as received, kept whatever becomes of it.
type Raw struct {
	Source        string // webhook, api
	RemoteAddr    string
	ContentType   string
	Query         string
	Headers       map[string]string
	Body          []byte
	BodyTruncated bool
}

// Inbound is one request to record: its raw form and, unless it was
// rejected, its interpretation and attachments.
type Inbound struct {
	Team        team.Team
	Raw         Raw
	Event       *ingest.Event       // nil when rejected
	Attachments []ingest.Attachment // stored with the alert
	Reject      string              // why the request was refused
}

// Outcome is what ingesting an event did.
type Outcome struct {
	EventID string
	Status  string
	Reason  string
	AlertID string
	stored  bool // the event row is already written
}

// The statements of the ingest path, prepared once (see store.DB.Prepare).
const (
	sqlInsertEvent = `INSERT INTO events (id, team_id, received_at, source, remote_addr, content_type, query, headers, body, body_truncated, status, reason, external_id, alert_id, parsed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlInsertAlert = `INSERT INTO alerts (id, team_id, status, title, text, severity, category, scenario, external_id, source_system, location, params, event_id, created_at, updated_at)
		VALUES (?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (team_id, external_id) WHERE status <> 'closed' AND external_id IS NOT NULL DO NOTHING`
	sqlInsertTimeline         = `INSERT INTO timeline (alert_id, at, kind, actor_type, actor_id, actor_name, text, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	sqlInsertAttachment       = `INSERT INTO attachments (id, team_id, event_id, alert_id, name, content_type, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlOpenByExternalID       = `SELECT id FROM alerts WHERE team_id = ? AND external_id = ? AND status <> 'closed'`
	sqlOpenStatusByExternalID = `SELECT id, status FROM alerts WHERE team_id = ? AND external_id = ? AND status <> 'closed'`
	sqlCountDuplicate         = `UPDATE alerts SET event_count = event_count + 1, updated_at = ? WHERE id = ?`
	// The engine's to-do entry for a new alert, in the same transaction.
	sqlInsertEngine = `INSERT INTO alert_engine (alert_id, team_id, state, updated_at) VALUES (?, ?, 'planning', ?)`
)

// Prepare readies the statements every inbound event runs.
func (s *Service) Prepare(ctx context.Context) error {
	return s.db.Prepare(ctx, sqlInsertEvent, sqlInsertAlert, sqlInsertTimeline, sqlInsertAttachment,
		sqlOpenByExternalID, sqlOpenStatusByExternalID, sqlCountDuplicate, sqlInsertEngine,
		acknowledge.update, closeAlert.update)
}

// maxStoredBody bounds the raw body kept with an event; attachments are kept
// whole in their own table.
const maxStoredBody = 1 << 20

// Ingest stores the event and applies it: it opens, deduplicates,
// acknowledges or closes an alert. It returns once all of that is committed.
func (s *Service) Ingest(ctx context.Context, in Inbound) (Outcome, error) {
	var cats []team.Category
	if in.Event != nil && in.Event.Action == ingest.ActionNew {
		var err error
		if cats, err = s.teams.CachedCategories(ctx, in.Team.ID); err != nil {
			return Outcome{}, err
		}
	}
	now := s.clock.Now()
	eventID := store.NewID()
	enc := encode(in)
	var out Outcome
	err := s.batch.Do(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		out, err = s.apply(ctx, tx, in, enc, cats, eventID, now)
		return err
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("store event: %w", err)
	}
	return out, nil
}

// encoded holds the JSON columns of an event, made before the write so that
// the single writer spends its time writing.
type encoded struct {
	headers, parsed, params string
}

func encode(in Inbound) encoded {
	e := encoded{headers: mustJSON(in.Raw.Headers), parsed: "{}"}
	if in.Event != nil {
		e.parsed, e.params = mustJSON(in.Event), mustJSON(in.Event.Params)
	}
	return e
}

func (s *Service) apply(ctx context.Context, tx *store.Tx, in Inbound, enc encoded, cats []team.Category, eventID string, now time.Time) (Outcome, error) {
	out := Outcome{EventID: eventID}
	ev := in.Event
	var err error
	switch {
	case ev == nil:
		out.Status, out.Reason = EventRejected, in.Reject
	case ev.Action == ingest.ActionDiscard:
		out.Status, out.Reason = EventDiscarded, ev.Reason
	case ev.Action == ingest.ActionNew:
		err = s.applyNew(ctx, tx, in, enc, cats, now, &out)
	default:
		err = s.applyStatus(ctx, tx, in, now, &out)
	}
	if err != nil {
		return Outcome{}, err
	}
	if !out.stored {
		if err := insertEvent(ctx, tx, in, enc, out, now); err != nil {
			return Outcome{}, err
		}
	}
	if ev != nil && out.Status != EventRejected {
		for _, a := range in.Attachments {
			var alertID any
			if out.AlertID != "" {
				alertID = out.AlertID
			}
			if _, err := tx.Exec(ctx, sqlInsertAttachment,
				store.NewID(), in.Team.ID, eventID, alertID, a.Name, a.ContentType, len(a.Data), a.Data, store.Micros(now)); err != nil {
				return Outcome{}, fmt.Errorf("insert attachment: %w", err)
			}
		}
	}
	return out, nil
}

func insertEvent(ctx context.Context, tx *store.Tx, in Inbound, enc encoded, out Outcome, now time.Time) error {
	var alertID any
	if out.AlertID != "" {
		alertID = out.AlertID
	}
	head, tail := eventArgs(in, enc, out.EventID, now)
	args := append(head, out.Status, out.Reason)
	args = append(args, tail[0], alertID, tail[1])
	if _, err := tx.Exec(ctx, sqlInsertEvent, args...); err != nil {
		return fmt.Errorf("insert event: %w", err)
	}
	return nil
}

// eventArgs returns an event row's values before status and reason (id …
// body_truncated) and the external id and parse result that follow them.
func eventArgs(in Inbound, enc encoded, eventID string, now time.Time) (head, tail []any) {
	body, truncated := in.Raw.Body, in.Raw.BodyTruncated
	if len(body) > maxStoredBody {
		body, truncated = body[:maxStoredBody], true
	}
	extID := ""
	if in.Event != nil {
		extID = in.Event.ExternalID
	}
	head = []any{eventID, in.Team.ID, store.Micros(now), in.Raw.Source, in.Raw.RemoteAddr, in.Raw.ContentType, in.Raw.Query, enc.headers, body, truncated}
	return head, []any{extID, enc.parsed}
}

// pgCreate opens an alert, its first timeline entry and its event row in one
// statement, so that PostgreSQL pays one round trip, not three, for the
// common case. It yields 1 when the alert was opened and 0 (having written
// nothing) when an open alert already holds the external id.
const pgCreate = `WITH a AS (` + sqlInsertAlert + ` RETURNING id),
	t AS (INSERT INTO timeline (alert_id, at, kind, actor_type, actor_id, actor_name, text, event_id)
		SELECT id, ?::bigint, 'created', 'event', '', ?::text, '', ?::text FROM a),
	e AS (INSERT INTO events (id, team_id, received_at, source, remote_addr, content_type, query, headers, body, body_truncated, status, reason, external_id, alert_id, parsed)
		SELECT ?::text, ?::text, ?::bigint, ?::text, ?::text, ?::text, ?::text, ?::text, ?::bytea, ?::boolean, 'created', '', ?::text, id, ?::text FROM a),
	g AS (INSERT INTO alert_engine (alert_id, team_id, state, updated_at) SELECT id, ?::text, 'planning', ?::bigint FROM a)
	SELECT COUNT(*) FROM a`

// category picks the alert's category: the one X-S4-Service names, else the
// first whose keywords match.
func category(ev *ingest.Event, cats []team.Category) (name string, matched bool) {
	if ev.Service != "" {
		for _, c := range cats {
			if strings.EqualFold(c.Name, ev.Service) {
				return c.Name, true
			}
		}
		return ev.Service, false
	}
	var full strings.Builder
	full.WriteString(ev.Title + "\n" + ev.Text)
	for _, p := range ev.Params {
		full.WriteString("\n" + p.Name + " " + p.Value)
	}
	param := func(n string) (string, bool) {
		for _, p := range ev.Params {
			if strings.EqualFold(p.Name, n) {
				return p.Value, true
			}
		}
		return "", false
	}
	for _, c := range cats {
		if c.Matches(param, full.String()) {
			return c.Name, true
		}
	}
	return "", false
}

// hasKeywords reports whether any category has keywords: without them a
// whitelist filter would drop every event, which no team means.
func hasKeywords(cats []team.Category) bool {
	for _, c := range cats {
		if len(c.Keywords) > 0 {
			return true
		}
	}
	return false
}

func (s *Service) applyNew(ctx context.Context, tx *store.Tx, in Inbound, enc encoded, cats []team.Category, now time.Time, out *Outcome) error {
	ev := in.Event
	cat, matched := category(ev, cats)
	if ev.Filtering && !matched && hasKeywords(cats) {
		out.Status, out.Reason = EventFiltered, "X-S4-Filtering is on and no category keyword matched"
		return nil
	}
	scenario := ev.Scenario
	if scenario == "" {
		scenario = in.Team.DefaultScenario
	}
	if scenario == team.ScenarioEmergency && cat == "" {
		cat = "Emergency"
	}
	var extID any
	if ev.ExternalID != "" {
		extID = ev.ExternalID
	}
	// A concurrent close can free the external id between our insert and our
	// look-up; trying again settles it.
	for attempt := 0; attempt < 3; attempt++ {
		alertID := store.NewID()
		alertArgs := []any{alertID, in.Team.ID, ev.Title, ev.Text, ev.Severity, cat, scenario, extID, ev.SourceSystem, ev.Location, enc.params, out.EventID, store.Micros(now), store.Micros(now)}
		if tx.Dialect() == store.Postgres {
			head, tail := eventArgs(in, enc, out.EventID, now)
			args := append(alertArgs, store.Micros(now), eventActor(ev).Name, out.EventID)
			args = append(append(args, head...), tail...)
			args = append(args, in.Team.ID, store.Micros(now))
			var n int
			if err := tx.QueryRow(ctx, pgCreate, args...).Scan(&n); err != nil {
				return fmt.Errorf("insert alert: %w", err)
			}
			if n == 1 {
				out.Status, out.AlertID, out.stored = EventCreated, alertID, true
				return silenceIfMuted(ctx, tx, alertID, cat, scenario, cats, now)
			}
		} else {
			res, err := tx.Exec(ctx, sqlInsertAlert, alertArgs...)
			if err != nil {
				return fmt.Errorf("insert alert: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				out.Status, out.AlertID = EventCreated, alertID
				if _, err := tx.Exec(ctx, sqlInsertEngine, alertID, in.Team.ID, store.Micros(now)); err != nil {
					return fmt.Errorf("queue alert for the engine: %w", err)
				}
				if err := addTimeline(ctx, tx, alertID, now, KindCreated, eventActor(ev), "", out.EventID); err != nil {
					return err
				}
				return silenceIfMuted(ctx, tx, alertID, cat, scenario, cats, now)
			}
		}
		var existing string
		err := tx.QueryRow(ctx, sqlOpenByExternalID, in.Team.ID, ev.ExternalID).Scan(&existing)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("find open alert: %w", err)
		}
		if _, err := tx.Exec(ctx, sqlCountDuplicate, store.Micros(now), existing); err != nil {
			return fmt.Errorf("count duplicate: %w", err)
		}
		out.Status, out.AlertID, out.Reason = EventUpdated, existing, "an alert with this external id is already open"
		return addTimeline(ctx, tx, existing, now, KindDuplicate, eventActor(ev), "repeated event for external id "+ev.ExternalID, out.EventID)
	}
	return fmt.Errorf("insert alert: external id %q kept conflicting", ev.ExternalID)
}

// silenceIfMuted keeps a new alert of a muted category from notifying
// anyone: it is recorded and shown like any other, and its timeline says
// why nobody was told. An emergency is never muted.
func silenceIfMuted(ctx context.Context, tx *store.Tx, alertID, cat, scenario string, cats []team.Category, now time.Time) error {
	if cat == "" || scenario == team.ScenarioEmergency {
		return nil
	}
	for _, c := range cats {
		if c.Name != cat || !c.MutedAt(now) {
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE alert_engine SET state = 'done', updated_at = ? WHERE alert_id = ?`, store.Micros(now), alertID); err != nil {
			return fmt.Errorf("silence muted alert: %w", err)
		}
		text := fmt.Sprintf("not notified: category %s is muted until %s", c.Name, c.MutedUntil.UTC().Format("2 Jan 15:04 MST"))
		return addTimeline(ctx, tx, alertID, now, KindPlanned, SystemActor(), text, "")
	}
	return nil
}

func (s *Service) applyStatus(ctx context.Context, tx *store.Tx, in Inbound, now time.Time, out *Outcome) error {
	ev := in.Event
	var id string
	var status Status
	err := tx.QueryRow(ctx, sqlOpenStatusByExternalID, in.Team.ID, ev.ExternalID).Scan(&id, &status)
	if errors.Is(err, sql.ErrNoRows) {
		out.Status, out.Reason = EventDiscarded, fmt.Sprintf("no open alert has external id %q", ev.ExternalID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("find open alert: %w", err)
	}
	out.AlertID = id
	actor := eventActor(ev)
	var t transition
	if ev.Action == ingest.ActionAcknowledge {
		if status != StatusNew {
			out.Status, out.Reason = EventDiscarded, "the alert is already acknowledged"
			return nil
		}
		t = acknowledge
	} else {
		t = closeAlert
	}
	if _, err := t.apply(ctx, tx, id, actor, now, "", out.EventID); err != nil {
		return err
	}
	out.Status = EventUpdated
	return nil
}

func eventActor(ev *ingest.Event) Actor {
	name := ev.SourceSystem
	if name == "" {
		name = "webhook"
	}
	return Actor{Type: "event", Name: name}
}

// AppendTimelines adds many entries in one statement, in q's transaction.
func AppendTimelines(ctx context.Context, q store.Q, entries []TimelineEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO timeline (alert_id, at, kind, actor_type, actor_id, actor_name, text, event_id) VALUES `)
	args := make([]any, 0, len(entries)*7)
	for i, e := range entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, NULL)")
		args = append(args, e.AlertID, store.Micros(e.At), e.Kind, e.Actor.Type, e.Actor.ID, e.Actor.Name, e.Text)
	}
	if _, err := q.Exec(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("append timeline: %w", err)
	}
	return nil
}

// AppendTimeline adds an entry to the alert's timeline, in q's transaction.
func AppendTimeline(ctx context.Context, q store.Q, alertID string, at time.Time, kind string, a Actor, text string) error {
	return addTimeline(ctx, q, alertID, at, kind, a, text, "")
}

func addTimeline(ctx context.Context, q store.Q, alertID string, at time.Time, kind string, a Actor, text, eventID string) error {
	var ev any
	if eventID != "" {
		ev = eventID
	}
	_, err := q.Exec(ctx, sqlInsertTimeline,
		alertID, store.Micros(at), kind, a.Type, a.ID, a.Name, text, ev)
	if err != nil {
		return fmt.Errorf("append timeline: %w", err)
	}
	return nil
}
