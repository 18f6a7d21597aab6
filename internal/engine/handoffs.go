package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/store"
)

// maxCatchUp bounds how far back the engine looks for duty changes it
// missed while down: older changes are history, not news.
const maxCatchUp = 24 * time.Hour

// handoffs records planned duty starting and ending (shifts, rotations,
// overrides) as duty events, per team, from a cursor to now. Punch-ins and
// punch-outs record their own events. A member whose duty starts this way
// is then treated like one who punched in: see joiners.
func (e *Engine) handoffs(ctx context.Context) error {
	now := e.clock.Now()
	// Duty changes are a matter of seconds, not milliseconds: look at most
	// once a second, so that a burst of alerts does not pay for it.
	if now.Sub(e.lastHandoffs) < time.Second {
		return nil
	}
	e.lastHandoffs = now
	teams, err := e.ids(ctx, `SELECT id FROM teams`)
	if err != nil {
		return err
	}
	for _, teamID := range teams {
		if err := e.teamHandoffs(ctx, teamID, now); err != nil {
			e.log.Error("duty handoffs", "team_id", teamID, "err", err)
		}
	}
	return nil
}

func (e *Engine) teamHandoffs(ctx context.Context, teamID string, now time.Time) error {
	name := "handoffs:" + teamID
	// A team seen for the first time starts from now: no backfill.
	if _, err := e.db.Exec(ctx, `INSERT INTO engine_cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, store.Micros(now)); err != nil {
		return err
	}
	var cursor int64
	if err := e.db.QueryRow(ctx, `SELECT value FROM engine_cursors WHERE name = ?`, name).Scan(&cursor); err != nil {
		return err
	}
	from := time.UnixMicro(cursor).UTC()
	if !now.After(from) {
		return nil
	}
	if now.Sub(from) > maxCatchUp {
		from = now.Add(-maxCatchUp)
	}
	// Plans may start up to a minute in the past (duty.Service allows that
	// slack for "now"), so look back that far too; the insert below skips
	// changes already recorded.
	from = from.Add(-time.Minute)
	p, err := e.duty.LoadPlan(ctx, teamID, from, now.Add(time.Nanosecond))
	if err != nil {
		return err
	}
	type change struct {
		kind, user string
		tier       int
		at         time.Time
	}
	var changes []change
	seen := map[time.Time]bool{}
	for _, h := range p.Handoffs(from, now) {
		if seen[h.At] {
			continue
		}
		seen[h.At] = true
		before, after := planned(p.At(h.At.Add(-time.Nanosecond))), planned(p.At(h.At))
		for k := range after {
			if !before[k] {
				changes = append(changes, change{"duty_started", k.user, k.tier, h.At})
			}
		}
		for k := range before {
			if !after[k] {
				changes = append(changes, change{"duty_ended", k.user, k.tier, h.At})
			}
		}
	}
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE engine_cursors SET value = ? WHERE name = ? AND value = ?`, store.Micros(now), name, cursor)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another engine took this stretch
		}
		for _, c := range changes {
			if _, err := tx.Exec(ctx, `INSERT INTO duty_events (team_id, kind, user_id, manager, tier, at)
				SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM duty_events WHERE team_id = ? AND kind = ? AND user_id = ? AND tier = ? AND at = ?)`,
				teamID, c.kind, c.user, c.tier == duty.ManagerTier, c.tier, store.Micros(c.at), teamID, c.kind, c.user, c.tier, store.Micros(c.at)); err != nil {
				return fmt.Errorf("record duty change: %w", err)
			}
		}
		return nil
	})
}

type onDutyKey struct {
	user string
	tier int
}

// planned is the set of members on duty by plan, leaving out punch-ins,
// which record their own events.
func planned(on []duty.OnDuty) map[onDutyKey]bool {
	out := map[onDutyKey]bool{}
	for _, o := range on {
		if o.Source != "punch" {
			out[onDutyKey{o.UserID, o.Tier}] = true
		}
	}
	return out
}
