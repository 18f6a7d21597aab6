package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/escalation"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

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
	e.more = e.more || len(ids) == 1000
	c := e.newCycle(e.clock.Now())
	alerts, err := e.readAlerts(ctx, ids)
	if err != nil {
		return err
	}
	var plans []plan
	for _, id := range ids {
		a, ok := alerts[id]
		if !ok {
			continue // deleted meanwhile; its engine row went with it
		}
		p, err := c.prepare(ctx, id, a)
		if err != nil {
			e.log.Error("plan alert", "alert_id", id, "err", err)
			continue
		}
		plans = append(plans, p)
	}
	// The reads are done; the writes of a chunk of alerts share one
	// transaction and a few statements, so a burst costs a few commits.
	for start := 0; start < len(plans); start += chunk {
		part := plans[start:min(start+chunk, len(plans))]
		err := e.db.InTx(ctx, func(tx *store.Tx) error { return e.applyAll(ctx, tx, part, c.now) })
		if err == nil {
			continue
		}
		for _, p := range part { // one bad alert must not hold up the others
			if err := e.db.InTx(ctx, func(tx *store.Tx) error { return e.applyAll(ctx, tx, []plan{p}, c.now) }); err != nil {
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

// readAlerts reads the alerts of ids, 100 per query.
func (e *Engine) readAlerts(ctx context.Context, ids []string) (map[string]alertRow, error) {
	out := map[string]alertRow{}
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		rows, err := e.db.Query(ctx, `SELECT id, team_id, status, scenario FROM alerts WHERE id IN (`+store.Placeholders(len(part))+`)`, store.Args(part)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var a alertRow
			if err := rows.Scan(&id, &a.teamID, &a.status, &a.scenario); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// prepare decides whom a new alert notifies. The reads happen before the
// transaction: on SQLite the transaction holds the only writer.
func (c *cycle) prepare(ctx context.Context, id string, a alertRow) (plan, error) {
	var err error
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

// applyAll writes plans, claiming their alerts first so that one engine
// plans each.
func (e *Engine) applyAll(ctx context.Context, tx *store.Tx, plans []plan, now time.Time) error {
	ids := make([]string, len(plans))
	for i, p := range plans {
		ids[i] = p.alertID
	}
	rows, err := tx.Query(ctx, `UPDATE alert_engine SET state = 'active', level_started_at = ?, updated_at = ?
		WHERE `+store.Claimable(tx.Dialect(), "alert_engine", "alert_id", "state = 'planning'", len(ids))+` RETURNING alert_id`, append([]any{store.Micros(now), store.Micros(now)}, store.Args(ids)...)...)
	if err != nil {
		return err
	}
	claimed := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		claimed[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	type level struct {
		tier int
		next any
	}
	var steps []stepRow
	var done []string
	levels := map[level][]string{}
	acks := map[int][]string{}
	var entries []alert.TimelineEntry
	for _, p := range plans {
		if !claimed[p.alertID] {
			continue // another engine planned it
		}
		if !p.open {
			done = append(done, p.alertID)
			continue
		}
		rs := stepRows(p.alertID, p.teamID, p.rec.Users, p.rules, p.settings, p.rec.Tier, "alert", now)
		steps = append(steps, rs...)
		var next any
		if due, ok := escalation.EscalationDue(now, p.settings); ok && p.rec.Tier >= 1 {
			next = store.Micros(due)
		}
		l := level{p.rec.Tier, next}
		levels[l] = append(levels[l], p.alertID)
		if p.rec.AcksRequired > 1 {
			acks[p.rec.AcksRequired] = append(acks[p.rec.AcksRequired], p.alertID)
		}
		text := fmt.Sprintf("notifying %s: %d messages planned", describe(p.rec.Tier, len(p.rec.Users)), len(rs))
		if p.rec.NobodyOnDuty {
			text = "nobody is on duty: " + text
		}
		entries = append(entries, alert.TimelineEntry{AlertID: p.alertID, At: now, Kind: alert.KindPlanned, Actor: alert.SystemActor(), Text: text})
	}
	if _, err := insertSteps(ctx, tx, steps); err != nil {
		return err
	}
	if len(done) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE alert_engine SET state = 'done' WHERE alert_id IN (`+store.Placeholders(len(done))+`)`, store.Args(done)...); err != nil {
			return err
		}
	}
	for l, ids := range levels {
		if _, err := tx.Exec(ctx, `UPDATE alert_engine SET tier = ?, next_escalation_at = ? WHERE alert_id IN (`+store.Placeholders(len(ids))+`)`, append([]any{l.tier, l.next}, store.Args(ids)...)...); err != nil {
			return err
		}
	}
	for n, ids := range acks {
		if _, err := tx.Exec(ctx, `UPDATE alerts SET acks_required = ? WHERE id IN (`+store.Placeholders(len(ids))+`)`, append([]any{n}, store.Args(ids)...)...); err != nil {
			return err
		}
	}
	return alert.AppendTimelines(ctx, tx, entries)
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
// rules and the team's repeats.
func (e *Engine) writeSteps(ctx context.Context, tx *store.Tx, alertID, teamID string, users []string, rules map[string][]team.EffectiveRule,
	settings team.AlertSettings, tier int, kind string, now time.Time) (int, error) {
	return insertSteps(ctx, tx, stepRows(alertID, teamID, users, rules, settings, tier, kind, now))
}

// stepRow is one notifications row to write: the values of insertSteps.
type stepRow []any

func stepRows(alertID, teamID string, users []string, rules map[string][]team.EffectiveRule,
	settings team.AlertSettings, tier int, kind string, now time.Time) []stepRow {
	var out []stepRow
	for _, u := range users {
		for _, st := range escalation.Schedule(now, u, rules[u], settings) {
			k := kind
			if st.Round > 0 {
				k = "repeat"
			}
			key := strings.Join([]string{alertID, fmt.Sprint(store.Micros(now)), u, st.Rule.ContactMethodID, fmt.Sprint(st.Round), fmt.Sprint(tier)}, "|")
			out = append(out, stepRow{store.NewID(), alertID, teamID, u, st.Rule.ContactMethodID, st.Rule.Channel, st.Rule.Address, k, st.Round, tier, store.Micros(st.At), store.Micros(now), key})
		}
	}
	return out
}

// insertSteps writes rows, up to 100 per statement. The dedup key makes
// planning the same step twice (two engines, a retried transaction) write
// it once. It returns how many rows were new.
func insertSteps(ctx context.Context, tx *store.Tx, rows []stepRow) (int, error) {
	n := 0
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var b strings.Builder
		b.WriteString(`INSERT INTO notifications (id, alert_id, team_id, user_id, contact_method_id, channel, address, kind, round, tier, due_at, created_at, dedup_key, status) VALUES `)
		var args []any
		for i, r := range part {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')")
			args = append(args, r...)
		}
		b.WriteString(` ON CONFLICT (dedup_key) DO NOTHING`)
		res, err := tx.Exec(ctx, b.String(), args...)
		if err != nil {
			return n, fmt.Errorf("write notifications: %w", err)
		}
		c, _ := res.RowsAffected()
		n += int(c)
	}
	return n, nil
}

func (e *Engine) escalateAll(ctx context.Context) error {
	now := e.clock.Now()
	ids, err := e.ids(ctx, `SELECT alert_id FROM alert_engine WHERE state = 'active' AND next_escalation_at IS NOT NULL AND next_escalation_at <= ? LIMIT 200`, store.Micros(now))
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
			store.Micros(now), id, tier, store.Micros(now))
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
			due = store.Micros(at)
		}
		if _, err := tx.Exec(ctx, `UPDATE alert_engine SET tier = ?, level_started_at = ?, next_escalation_at = ? WHERE alert_id = ?`, next, store.Micros(now), due, id); err != nil {
			return err
		}
		return alert.AppendTimeline(ctx, tx, id, now, alert.KindEscalated, alert.SystemActor(),
			fmt.Sprintf("not acknowledged in time: escalated to %s, %d messages planned", describe(next, len(users)), n))
	})
}
