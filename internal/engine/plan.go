package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/escalation"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func micros(t time.Time) int64 { return t.UnixMicro() }

func (e *Engine) planAll(ctx context.Context) error {
	ids, err := e.ids(ctx, `SELECT alert_id FROM alert_engine WHERE state = 'planning' LIMIT 200`)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := e.planAlert(ctx, id); err != nil {
			e.log.Error("plan alert", "alert_id", id, "err", err)
		}
	}
	return nil
}

type alertRow struct {
	teamID, status, scenario string
}

func (e *Engine) readAlert(ctx context.Context, q store.Q, id string) (alertRow, error) {
	var a alertRow
	err := q.QueryRow(ctx, `SELECT team_id, status, scenario FROM alerts WHERE id = ?`, id).Scan(&a.teamID, &a.status, &a.scenario)
	return a, err
}

// planAlert decides whom a new alert notifies and writes their messages,
// claiming the alert first so that one engine does it.
func (e *Engine) planAlert(ctx context.Context, id string) error {
	now := e.clock.Now()
	a, err := e.readAlert(ctx, e.db, id)
	if err != nil {
		return err
	}
	// The reads that decide the plan happen before the transaction: on
	// SQLite the transaction holds the only writer.
	var rec escalation.Recipients
	var settings team.AlertSettings
	var rules map[string][]team.EffectiveRule
	if a.status == string(alert.StatusNew) {
		st, err := e.duty.StatusAt(ctx, a.teamID, now)
		if err != nil {
			return err
		}
		members, err := e.teams.Members(ctx, a.teamID)
		if err != nil {
			return err
		}
		var ids []string
		for _, m := range members {
			ids = append(ids, m.UserID)
		}
		rec = escalation.Initial(a.scenario, st.OnDuty, ids)
		if settings, err = e.teams.AlertSettings(ctx, a.teamID); err != nil {
			return err
		}
		if rules, err = e.rulesFor(ctx, a.teamID, rec.Users); err != nil {
			return err
		}
	}
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE alert_engine SET state = 'active', level_started_at = ?, updated_at = ? WHERE alert_id = ? AND state = 'planning'`, micros(now), micros(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another engine planned it
		}
		if a.status != string(alert.StatusNew) {
			_, err := tx.Exec(ctx, `UPDATE alert_engine SET state = 'done' WHERE alert_id = ?`, id)
			return err
		}
		n, err := e.writeSteps(ctx, tx, id, a.teamID, rec.Users, rules, settings, rec.Tier, "alert", now)
		if err != nil {
			return err
		}
		if rec.AcksRequired > 1 {
			if _, err := tx.Exec(ctx, `UPDATE alerts SET acks_required = ? WHERE id = ?`, rec.AcksRequired, id); err != nil {
				return err
			}
		}
		var next any
		if due, ok := escalation.EscalationDue(now, settings); ok && rec.Tier >= 1 {
			next = micros(due)
		}
		if _, err := tx.Exec(ctx, `UPDATE alert_engine SET tier = ?, next_escalation_at = ? WHERE alert_id = ?`, rec.Tier, next, id); err != nil {
			return err
		}
		text := fmt.Sprintf("notifying %s: %d messages planned", describe(rec.Tier, len(rec.Users)), n)
		if rec.NobodyOnDuty {
			text = "nobody is on duty: " + text
		}
		return alert.AppendTimeline(ctx, tx, id, now, alert.KindPlanned, alert.SystemActor(), text)
	})
}

func describe(tier, users int) string {
	switch tier {
	case -1:
		return fmt.Sprintf("the whole team (%d members)", users)
	case duty.ManagerTier:
		return fmt.Sprintf("the manager on duty (%d)", users)
	}
	return fmt.Sprintf("tier %d (%d members)", tier, users)
}

func (e *Engine) rulesFor(ctx context.Context, teamID string, users []string) (map[string][]team.EffectiveRule, error) {
	out := map[string][]team.EffectiveRule{}
	for _, u := range users {
		rs, err := e.teams.RulesFor(ctx, teamID, u)
		if err != nil {
			return nil, err
		}
		out[u] = rs
	}
	return out, nil
}

// writeSteps writes the messages that reach users from now on, per their
// rules and the team's repeats. The dedup key makes planning the same step
// twice (two engines, a retried transaction) write it once.
func (e *Engine) writeSteps(ctx context.Context, tx *store.Tx, alertID, teamID string, users []string, rules map[string][]team.EffectiveRule,
	settings team.AlertSettings, tier int, kind string, now time.Time) (int, error) {
	n := 0
	for _, u := range users {
		for _, st := range escalation.Schedule(now, u, rules[u], settings) {
			k := kind
			if st.Round > 0 {
				k = "repeat"
			}
			key := strings.Join([]string{alertID, fmt.Sprint(micros(now)), u, st.Rule.ContactMethodID, fmt.Sprint(st.Round), fmt.Sprint(tier)}, "|")
			res, err := tx.Exec(ctx, `INSERT INTO notifications (id, alert_id, team_id, user_id, contact_method_id, channel, address, kind, round, tier, due_at, status, created_at, dedup_key)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (dedup_key) DO NOTHING`,
				newID(), alertID, teamID, u, st.Rule.ContactMethodID, st.Rule.Channel, st.Rule.Address, k, st.Round, tier, micros(st.At), micros(now), key)
			if err != nil {
				return n, fmt.Errorf("write notification: %w", err)
			}
			if c, _ := res.RowsAffected(); c == 1 {
				n++
			}
		}
	}
	return n, nil
}

func (e *Engine) escalateAll(ctx context.Context) error {
	now := e.clock.Now()
	ids, err := e.ids(ctx, `SELECT alert_id FROM alert_engine WHERE state = 'active' AND next_escalation_at IS NOT NULL AND next_escalation_at <= ? LIMIT 200`, micros(now))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := e.escalate(ctx, id, now); err != nil {
			e.log.Error("escalate alert", "alert_id", id, "err", err)
		}
	}
	return nil
}

// escalate moves an unacknowledged alert to the next staffed tier, or to
// the manager on duty, with who is on duty now.
func (e *Engine) escalate(ctx context.Context, id string, now time.Time) error {
	var tier int
	if err := e.db.QueryRow(ctx, `SELECT tier FROM alert_engine WHERE alert_id = ?`, id).Scan(&tier); err != nil {
		return err
	}
	a, err := e.readAlert(ctx, e.db, id)
	if err != nil {
		return err
	}
	st, err := e.duty.StatusAt(ctx, a.teamID, now)
	if err != nil {
		return err
	}
	next, users, ok := escalation.Next(st.OnDuty, tier)
	settings, err := e.teams.AlertSettings(ctx, a.teamID)
	if err != nil {
		return err
	}
	rules, err := e.rulesFor(ctx, a.teamID, users)
	if err != nil {
		return err
	}
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		// Claim: only the engine that clears the due time escalates.
		res, err := tx.Exec(ctx, `UPDATE alert_engine SET next_escalation_at = NULL, updated_at = ? WHERE alert_id = ? AND state = 'active' AND tier = ? AND next_escalation_at IS NOT NULL AND next_escalation_at <= ?`,
			micros(now), id, tier, micros(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM alerts WHERE id = ?`, id).Scan(&status); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return err
		}
		if status != string(alert.StatusNew) {
			return nil
		}
		if !ok {
			return alert.AppendTimeline(ctx, tx, id, now, alert.KindEscalated, alert.SystemActor(), "not acknowledged in time, and nobody is on duty to escalate to")
		}
		n, err := e.writeSteps(ctx, tx, id, a.teamID, users, rules, settings, next, "escalation", now)
		if err != nil {
			return err
		}
		var due any
		if at, ok := escalation.EscalationDue(now, settings); ok && next != duty.ManagerTier {
			due = micros(at)
		}
		if _, err := tx.Exec(ctx, `UPDATE alert_engine SET tier = ?, level_started_at = ?, next_escalation_at = ? WHERE alert_id = ?`, next, micros(now), due, id); err != nil {
			return err
		}
		return alert.AppendTimeline(ctx, tx, id, now, alert.KindEscalated, alert.SystemActor(),
			fmt.Sprintf("not acknowledged in time: escalated to %s, %d messages planned", describe(next, len(users)), n))
	})
}
