package engine

import (
	"context"
	"fmt"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/store"
)

// joiners notifies members who come on duty (by punching in, or as a planned
// shift starts) while an alert of their team is still unacknowledged at the
// level they join: a primary punching in joins
// an alert notifying tier 1 (or the whole team), a manager one notifying
// the manager on duty. Punch-ins are read from duty_events past a cursor
// that the engine moves forward with a conditional update, so each is acted
// on once.
func (e *Engine) joiners(ctx context.Context) error {
	var cursor int64
	if err := e.db.QueryRow(ctx, `SELECT value FROM engine_cursors WHERE name = 'duty_events'`).Scan(&cursor); err != nil {
		return err
	}
	type punch struct {
		id, at     int64
		team, user string
		tier       int
	}
	rows, err := e.db.Query(ctx, `SELECT id, at, team_id, user_id, tier FROM duty_events WHERE id > ? AND kind IN ('punched_in', 'duty_started') ORDER BY id LIMIT 100`, cursor)
	if err != nil {
		return err
	}
	var punches []punch
	for rows.Next() {
		var p punch
		if err := rows.Scan(&p.id, &p.at, &p.team, &p.user, &p.tier); err != nil {
			rows.Close()
			return err
		}
		punches = append(punches, p)
	}
	rows.Close()
	if len(punches) == 0 {
		return nil
	}
	now := e.clock.Now()
	c := e.newCycle(now)
	type job struct {
		alertID, teamID, user string
		tier                  int
	}
	var jobs []job
	for _, p := range punches {
		// Tier 1 also joins alerts that went to the whole team.
		tiers := fmt.Sprint(p.tier)
		if p.tier == 1 {
			tiers = "1, -1"
		}
		// Only alerts whose level began before the punch-in, and only if the
		// member has no messages for the alert yet: never page twice.
		ids, err := e.ids(ctx, `SELECT e.alert_id FROM alert_engine e JOIN alerts a ON a.id = e.alert_id
			WHERE e.team_id = ? AND e.state = 'active' AND a.status = 'new' AND e.tier IN (`+tiers+`) AND e.level_started_at < ?
			AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.alert_id = e.alert_id AND n.user_id = ?)`, p.team, p.at, p.user)
		if err != nil {
			return err
		}
		for _, id := range ids {
			jobs = append(jobs, job{id, p.team, p.user, p.tier})
		}
	}
	last := punches[len(punches)-1].id
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE engine_cursors SET value = ? WHERE name = 'duty_events' AND value = ?`, last, cursor)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another engine took these
		}
		for _, j := range jobs {
			v, err := c.team(ctx, j.teamID)
			if err != nil {
				return err
			}
			rules, err := c.rulesFor(ctx, j.teamID, []string{j.user})
			if err != nil {
				return err
			}
			n, err := e.writeSteps(ctx, tx, j.alertID, j.teamID, []string{j.user}, rules, v.settings, j.tier, "alert", now)
			if err != nil {
				return err
			}
			if n > 0 {
				if err := alert.AppendTimeline(ctx, tx, j.alertID, now, alert.KindPlanned, alert.SystemActor(),
					fmt.Sprintf("%s came on duty while the alert was open: %d messages planned", j.user, n)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
