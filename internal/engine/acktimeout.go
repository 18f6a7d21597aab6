package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/store"
)

func (e *Engine) ackTimeouts(ctx context.Context) error {
	now := e.clock.Now()
	ids, err := e.ids(ctx, `SELECT alert_id FROM alert_engine WHERE ack_timeout_at IS NOT NULL AND ack_timeout_at <= ? LIMIT 200`, store.Micros(now))
	if err != nil {
		return err
	}
	c := e.newCycle(now)
	for _, id := range ids {
		if err := e.ackTimeout(ctx, c, id, now); err != nil {
			e.log.Error("ack timeout", "alert_id", id, "err", err)
		}
	}
	return nil
}

// ackTimeout reminds whoever acknowledged an alert that it is still not
// closed, and sets the next reminder one ack timeout later.
func (e *Engine) ackTimeout(ctx context.Context, c *cycle, id string, now time.Time) error {
	a, err := e.readAlert(ctx, e.db, id)
	if err != nil {
		return err
	}
	users, err := e.ids(ctx, `SELECT user_id FROM alert_acks WHERE alert_id = ? ORDER BY at`, id)
	if err != nil {
		return err
	}
	v, err := c.team(ctx, a.teamID)
	if err != nil {
		return err
	}
	rules, err := c.rulesFor(ctx, a.teamID, users)
	if err != nil {
		return err
	}
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		var next any
		if v.settings.AckTimeoutSeconds > 0 && a.status == string(alert.StatusAcknowledged) {
			next = store.Micros(now.Add(time.Duration(v.settings.AckTimeoutSeconds) * time.Second))
		}
		// Claim: only the engine that moves the due time on reminds.
		res, err := tx.Exec(ctx, `UPDATE alert_engine SET ack_timeout_at = ?, updated_at = ? WHERE alert_id = ? AND ack_timeout_at IS NOT NULL AND ack_timeout_at <= ?`,
			next, store.Micros(now), id, store.Micros(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 || a.status != string(alert.StatusAcknowledged) || len(users) == 0 {
			return nil
		}
		noRepeats := v.settings
		noRepeats.RepeatEverySeconds, noRepeats.RepeatLimit = 0, 0
		n, err := e.writeSteps(ctx, tx, id, a.teamID, users, rules, noRepeats, -3, "ack_timeout", now)
		if err != nil {
			return err
		}
		return alert.AppendTimeline(ctx, tx, id, now, alert.KindPlanned, alert.SystemActor(),
			fmt.Sprintf("acknowledged but not closed within the ack timeout: reminding %d member(s), %d messages planned", len(users), n))
	})
}
