package outbound

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/lastmile/lastmile/internal/store"
)

// The rows a batch of deliveries is rendered from, each kind read in one
// query for the whole batch.
type (
	hook struct {
		Webhook
		secret  []byte
		openErr error
	}
	entry struct {
		id                       int64
		alertID                  string
		at                       int64
		kind, actorType, actorID string
		actorName, text          string
	}
	alertRow struct {
		id, teamID, title, text, severity string
		externalID                        *string
		eventID                           string
		createdAt                         int64
	}
	dutyRow struct {
		id           int64
		kind, userID string
		manager      bool
		tier         int
		at           int64
	}
	userRow struct{ id, name, email string }
)

// batch is what load read for one batch of jobs.
type batch struct {
	hooks   map[string]*hook
	entries map[int64]entry
	alerts  map[string]alertRow
	history map[string][]entry // status changes per alert, by id
	duty    map[int64]dutyRow
	users   map[string]userRow
}

// queryIn runs q, whose last condition is "IN (%s)", over ids in chunks
// and hands every row to scan.
func queryIn[T any](ctx context.Context, db *store.DB, q string, ids []T, scan func(rows interface{ Scan(...any) error }) error) error {
	const chunk = 200
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := db.Query(ctx, fmt.Sprintf(q, store.Placeholders(len(part))), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func keys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// load reads everything the jobs need.
func (d *Deliverer) load(ctx context.Context, jobs []*job) (*batch, error) {
	b := &batch{hooks: map[string]*hook{}, entries: map[int64]entry{}, alerts: map[string]alertRow{},
		history: map[string][]entry{}, duty: map[int64]dutyRow{}, users: map[string]userRow{}}
	hookIDs, entryIDs, dutyIDs := map[string]bool{}, map[int64]bool{}, map[int64]bool{}
	for _, j := range jobs {
		hookIDs[j.webhookID] = true
		n, err := strconv.ParseInt(j.sourceID, 10, 64)
		switch {
		case j.source == sourceTimeline && err == nil:
			entryIDs[n] = true
		case j.source == sourceDuty && err == nil:
			dutyIDs[n] = true
		}
	}
	err := queryIn(ctx, d.db, `SELECT id, team_id, url, secret, events, enabled FROM team_webhooks WHERE id IN (%s)`, keys(hookIDs),
		func(r interface{ Scan(...any) error }) error {
			h := &hook{}
			var sealed, events string
			if err := r.Scan(&h.ID, &h.TeamID, &h.URL, &sealed, &events, &h.Enabled); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(events), &h.Events); err != nil {
				return fmt.Errorf("webhook %s has unreadable events: %w", h.ID, err)
			}
			h.secret, h.openErr = d.box.Open(sealed, sealContext(h.ID))
			b.hooks[h.ID] = h
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read webhooks: %w", err)
	}
	err = queryIn(ctx, d.db, `SELECT id, alert_id, at, kind, actor_type, actor_id, actor_name, text FROM timeline WHERE id IN (%s)`, keys(entryIDs),
		func(r interface{ Scan(...any) error }) error {
			var e entry
			if err := r.Scan(&e.id, &e.alertID, &e.at, &e.kind, &e.actorType, &e.actorID, &e.actorName, &e.text); err != nil {
				return err
			}
			b.entries[e.id] = e
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read timeline: %w", err)
	}
	alertIDs, userIDs := map[string]bool{}, map[string]bool{}
	for _, e := range b.entries {
		alertIDs[e.alertID] = true
		if e.actorType == "user" && e.actorID != "" {
			userIDs[e.actorID] = true
		}
	}
	err = queryIn(ctx, d.db, `SELECT id, team_id, title, text, severity, external_id, event_id, created_at FROM alerts WHERE id IN (%s)`, keys(alertIDs),
		func(r interface{ Scan(...any) error }) error {
			var a alertRow
			if err := r.Scan(&a.id, &a.teamID, &a.title, &a.text, &a.severity, &a.externalID, &a.eventID, &a.createdAt); err != nil {
				return err
			}
			b.alerts[a.id] = a
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read alerts: %w", err)
	}
	// Only the start of a note is read: it tells a partial acknowledgement
	// of a multi_ack alert from a full one.
	err = queryIn(ctx, d.db, `SELECT id, alert_id, at, kind, actor_type, actor_id, substr(text, 1, 64) FROM timeline
		WHERE kind IN ('created', 'acknowledged', 'unacknowledged', 'closed', 'reopened') AND alert_id IN (%s) ORDER BY alert_id, id`, keys(alertIDs),
		func(r interface{ Scan(...any) error }) error {
			var e entry
			if err := r.Scan(&e.id, &e.alertID, &e.at, &e.kind, &e.actorType, &e.actorID, &e.text); err != nil {
				return err
			}
			b.history[e.alertID] = append(b.history[e.alertID], e)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read alert history: %w", err)
	}
	err = queryIn(ctx, d.db, `SELECT id, kind, user_id, manager, tier, at FROM duty_events WHERE id IN (%s)`, keys(dutyIDs),
		func(r interface{ Scan(...any) error }) error {
			var e dutyRow
			if err := r.Scan(&e.id, &e.kind, &e.userID, &e.manager, &e.tier, &e.at); err != nil {
				return err
			}
			b.duty[e.id] = e
			if e.userID != "" {
				userIDs[e.userID] = true
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read duty events: %w", err)
	}
	err = queryIn(ctx, d.db, `SELECT id, name, email FROM users WHERE id IN (%s)`, keys(userIDs),
		func(r interface{ Scan(...any) error }) error {
			var u userRow
			if err := r.Scan(&u.id, &u.name, &u.email); err != nil {
				return err
			}
			b.users[u.id] = u
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return b, nil
}

// user describes a member; one deleted since keeps the name the
// timeline recorded.
func (b *batch) user(id, name string) *PayloadUser {
	if u, ok := b.users[id]; ok {
		name := u.name
		if name == "" {
			name = u.email
		}
		return &PayloadUser{ID: id, Username: name, MailAddress: u.email}
	}
	return &PayloadUser{ID: id, Username: name}
}

// render builds the payload of j, or says why there is none.
func (b *batch) render(j *job, h *hook) (Payload, string) {
	p := Payload{EventType: j.eventType, EventRaisedUTC: FormatTime(store.FromMicros(j.createdAt)),
		Subscription: Ref{ID: h.ID}, Team: Ref{ID: h.TeamID}, ID: j.eventID}
	switch j.source {
	case sourceTest:
		p.Note = testNote
	case sourceDuty:
		n, _ := strconv.ParseInt(j.sourceID, 10, 64)
		e, ok := b.duty[n]
		if !ok {
			return Payload{}, "not sent: the duty event no longer exists"
		}
		if e.userID != "" {
			p.User = b.user(e.userID, "")
		}
		p.Duty = &PayloadDuty{Tier: e.tier, Manager: e.manager}
	case sourceTimeline:
		n, _ := strconv.ParseInt(j.sourceID, 10, 64)
		e, ok := b.entries[n]
		a, ok2 := b.alerts[e.alertID]
		if !ok || !ok2 {
			return Payload{}, "not sent: the alert was deleted before the event could be delivered"
		}
		st := replay(b.history[a.id], e.id)
		p.Alert = &PayloadAlert{StatusCode: st.code, EventID: a.eventID, ExternalEventID: a.externalID, AcknowledgedUserIDs: st.ackers,
			ID: a.id, Title: a.title, Text: a.text, Severity: a.severity, CreatedAt: FormatTime(store.FromMicros(a.createdAt)),
			AcknowledgedAt: optTime(st.ackedAt), ClosedAt: optTime(st.closedAt)}
		if p.Alert.EventID == "" {
			p.Alert.EventID = a.id
		}
		// SIGNL4 names no one in an escalation: the engine escalates, even
		// when a member asked it to.
		if e.actorType == "user" && e.actorID != "" && j.eventType != EventEscalated {
			p.User = b.user(e.actorID, e.actorName)
		}
		if j.eventType == EventAnnotated {
			p.Annotation = &PayloadAnnotation{Message: e.text, ID: strconv.FormatInt(e.id, 10)}
		}
	default:
		return Payload{}, fmt.Sprintf("not sent: unknown event source %q", j.source)
	}
	return p, ""
}

// alertState is an alert as it was after one event.
type alertState struct {
	code              int
	ackers            []string
	ackedAt, closedAt *time.Time
}

// replay rebuilds the alert's state right after timeline entry upto from
// its status changes, mirroring the alert package's status machine: a
// late or retried delivery describes the alert as the event left it, not
// as it is now.
func replay(history []entry, upto int64) alertState {
	st := alertState{code: StatusNew, ackers: []string{}}
	for _, e := range history {
		if e.id > upto {
			break
		}
		at := store.FromMicros(e.at)
		switch e.kind {
		case "created":
			st = alertState{code: StatusNew, ackers: []string{}}
		case "acknowledged":
			if e.actorType == "user" && e.actorID != "" && !slices.Contains(st.ackers, e.actorID) {
				st.ackers = append(st.ackers, e.actorID)
			}
			if !partialAck(e.text) && st.code == StatusNew {
				st.code, st.ackedAt = StatusAcknowledged, &at
			}
		case "unacknowledged":
			st.code, st.ackedAt, st.ackers = StatusNew, nil, []string{}
		case "closed":
			st.code, st.closedAt = StatusClosed, &at
		case "reopened":
			st.code, st.closedAt = StatusNew, nil
			if st.ackedAt != nil {
				st.code = StatusAcknowledged
			}
		}
	}
	return st
}

// partialAck tells a member's acknowledgement of a multi_ack alert that
// still needs more ("acknowledgement 1 of 3", as the alert package writes
// it) from the one that acknowledges the alert.
func partialAck(text string) bool {
	var got, need int
	n, _ := fmt.Sscanf(text, "acknowledgement %d of %d", &got, &need)
	return n == 2 && got < need
}
