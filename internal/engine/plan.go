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

// chunk bounds how many alerts or messages share one transaction.
const chunk = 100

// cycle caches, for one pass of the engine, what many alerts of one team
// share: who is on duty, the members, the settings and each member's rules.
type cycle struct {
	e     *Engine
	now   time.Time
	teams map[string]*teamView
	rules map[[2]string][]team.EffectiveRule
}

type teamView struct {
	onDuty   []duty.OnDuty
	members  []string
	settings team.AlertSettings
}

func (e *Engine) newCycle(now time.Time) *cycle {
	return &cycle{e: e, now: now, teams: map[string]*teamView{}, rules: map[[2]string][]team.EffectiveRule{}}
}

func (c *cycle) team(ctx context.Context, teamID string) (*teamView, error) {
	if v, ok := c.teams[teamID]; ok {
		return v, nil
	}
	st, err := c.e.duty.StatusAt(ctx, teamID, c.now)
	if err != nil {
		return nil, err
	}
	members, err := c.e.teams.Members(ctx, teamID)
	if err != nil {
		return nil, err
	}
	v := &teamView{onDuty: st.OnDuty}
	for _, m := range members {
		v.members = append(v.members, m.UserID)
	}
	if v.settings, err = c.e.teams.AlertSettings(ctx, teamID); err != nil {
		return nil, err
	}
	c.teams[teamID] = v
	return v, nil
}

func (c *cycle) rulesFor(ctx context.Context, teamID string, users []string) (map[string][]team.EffectiveRule, error) {
	out := map[string][]team.EffectiveRule{}
	for _, u := range users {
		k := [2]string{teamID, u}
		rs, ok := c.rules[k]
		if !ok {
			var err error
			if rs, err = c.e.teams.RulesFor(ctx, teamID, u); err != nil {
				return nil, err
			}
			c.rules[k] = rs
		}
		out[u] = rs
	}
	return out, nil
}

// plan is what planning decided for one alert, before it is written.
type plan struct {
	alertID  string
	teamID   string
	open     bool
	rec      escalation.Recipients
	settings team.AlertSettings
	rules    map[string][]team.EffectiveRule
}

func (e *Engine) planAll(ctx context.Context) error {
	ids, err := e.ids(ctx, `SELECT alert_id FROM alert_engine WHERE state = 'planning' LIMIT 1000`)
	if err != nil || len(ids) == 0 {
		return err
	}
	c := e.newCycle(e.clock.Now())
	var plans []plan
	for _, id := range ids {
		p, err := c.prepare(ctx, id)
		if err != nil {
			e.log.Error("plan alert", "alert_id", id, "err", err)
			continue
		}
		plans = append(plans, p)
	}
	// The reads are done; the writes share transactions, so a burst of
	// alerts costs a few commits, not one each.
	for start := 0; start < len(plans); start += chunk {
		part := plans[start:min(start+chunk, len(plans))]
		err := e.db.InTx(ctx, func(tx *store.Tx) error {
			for _, p := range part {
				if err := e.apply(ctx, tx, p, c.now); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			continue
		}
		for _, p := range part { // one bad alert must not hold up the others
			if err := e.db.InTx(ctx, func(tx *store.Tx) error { return e.apply(ctx, tx, p, c.now) }); err != nil {
				e.log.Error("plan alert", "alert_id", p.alertID, "err", err)
			}
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

// prepare reads what decides whom a new alert notifies. The reads happen
// before the transaction: on SQLite the transaction holds the only writer.
func (c *cycle) prepare(ctx context.Context, id string) (plan, error) {
	a, err := c.e.readAlert(ctx, c.e.db, id)
	if err != nil {
		return plan{}, err
	}
	p := plan{alertID: id, teamID: a.teamID, open: a.status == string(alert.StatusNew)}
	if !p.open {
		return p, nil
	}
	v, err := c.team(ctx, a.teamID)
	if err != nil {
		return plan{}, err
	}
	p.rec = escalation.Initial(a.scenario, v.onDuty, v.members)
	p.settings = v.settings
	p.rules, err = c.rulesFor(ctx, a.teamID, p.rec.Users)
	return p, err
}

// apply writes a plan, claiming the alert first so that one engine does it.
func (e *Engine) apply(ctx context.Context, tx *store.Tx, p plan, now time.Time) error {
	res, err := tx.Exec(ctx, `UPDATE alert_engine SET state = 'active', level_started_at = ?, updated_at = ? WHERE alert_id = ? AND state = 'planning'`, micros(now), micros(now), p.alertID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // another engine planned it
	}
	if !p.open {
		_, err := tx.Exec(ctx, `UPDATE alert_engine SET state = 'done' WHERE alert_id = ?`, p.alertID)
		return err
	}
	n, err := e.writeSteps(ctx, tx, p.alertID, p.teamID, p.rec.Users, p.rules, p.settings, p.rec.Tier, "alert", now)
	if err != nil {
		return err
	}
	if p.rec.AcksRequired > 1 {
		if _, err := tx.Exec(ctx, `UPDATE alerts SET acks_required = ? WHERE id = ?`, p.rec.AcksRequired, p.alertID); err != nil {
			return err
		}
	}
	var next any
	if due, ok := escalation.EscalationDue(now, p.settings); ok && p.rec.Tier >= 1 {
		next = micros(due)
	}
	if _, err := tx.Exec(ctx, `UPDATE alert_engine SET tier = ?, next_escalation_at = ? WHERE alert_id = ?`, p.rec.Tier, next, p.alertID); err != nil {
		return err
	}
	text := fmt.Sprintf("notifying %s: %d messages planned", describe(p.rec.Tier, len(p.rec.Users)), n)
	if p.rec.NobodyOnDuty {
		text = "nobody is on duty: " + text
	}
	return alert.AppendTimeline(ctx, tx, p.alertID, now, alert.KindPlanned, alert.SystemActor(), text)
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
	c := e.newCycle(now)
	for _, id := range ids {
		if err := e.escalate(ctx, c, id, now); err != nil {
			e.log.Error("escalate alert", "alert_id", id, "err", err)
		}
	}
	return nil
}

// escalate moves an unacknowledged alert to the next staffed tier, or to
// the manager on duty, with who is on duty now.
func (e *Engine) escalate(ctx context.Context, c *cycle, id string, now time.Time) error {
	var tier int
	if err := e.db.QueryRow(ctx, `SELECT tier FROM alert_engine WHERE alert_id = ?`, id).Scan(&tier); err != nil {
		return err
	}
	a, err := e.readAlert(ctx, e.db, id)
	if err != nil {
		return err
	}
	v, err := c.team(ctx, a.teamID)
	if err != nil {
		return err
	}
	next, users, ok := escalation.Next(v.onDuty, tier)
	settings := v.settings
	rules, err := c.rulesFor(ctx, a.teamID, users)
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
