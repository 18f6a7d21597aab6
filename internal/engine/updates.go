package engine

import (
	"context"
	"fmt"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
)

// updates shows status changes on chat messages already sent about an
// alert (a Slack message loses its buttons and says who acknowledged).
// The transaction that changes an alert's status marks its sent chat
// messages (update_due); each engine takes marked rows with a conditional
// update, so each change is shown once, and reads the alert's status after
// taking them, so the newest status is what is shown. With nothing marked,
// this costs one indexed read per pass.
func (e *Engine) updates(ctx context.Context) error {
	if e.opt.Updates == nil {
		return nil
	}
	// A read first: most passes have nothing to do and need no write.
	var marked int
	if err := e.db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE update_due IS NOT NULL LIMIT 1) m`).Scan(&marked); err != nil || marked == 0 {
		return err
	}
	var ids []string
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE notifications SET update_due = NULL WHERE update_due IS NOT NULL AND id IN
			(SELECT id FROM notifications WHERE update_due IS NOT NULL ORDER BY update_due LIMIT 100) RETURNING id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil || len(ids) == 0 {
		return err
	}
	rows, err := e.db.Query(ctx, `SELECT n.alert_id, n.channel, n.address, n.provider_id, a.title, a.text, a.severity, a.status,
		a.acknowledged_by, a.closed_by, a.updated_at FROM notifications n JOIN alerts a ON a.id = n.alert_id
		WHERE n.id IN (`+store.Placeholders(len(ids))+`)`, store.Args(ids)...)
	if err != nil {
		return err
	}
	type job struct {
		channel, provider string
		u                 notify.Update
	}
	var jobs []job
	seen := map[string]bool{}
	for rows.Next() {
		var j job
		var ackBy, closeBy string
		var at int64
		if err := rows.Scan(&j.u.AlertID, &j.channel, &j.u.Address, &j.provider, &j.u.Title, &j.u.Text, &j.u.Severity, &j.u.Status, &ackBy, &closeBy, &at); err != nil {
			rows.Close()
			return err
		}
		// Several messages to one chat address (Teams follow-ups) show
		// one change once.
		k := j.channel + "\x00" + j.u.Address + "\x00" + j.provider + "\x00" + j.u.AlertID
		if seen[k] {
			continue
		}
		seen[k] = true
		switch j.u.Status {
		case "acknowledged":
			j.u.By = ackBy
		case "closed":
			j.u.By = closeBy
		}
		j.u.At = store.FromMicros(at)
		if e.opt.BaseURL != "" {
			j.u.AlertURL = e.opt.BaseURL + "/alerts/" + j.u.AlertID
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, j := range jobs {
		u, ok := e.opt.Updates(j.channel)
		if !ok {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		err := u.Update(sctx, j.provider, j.u)
		cancel()
		if err != nil {
			// Cosmetic: log and go on; the alert itself is right everywhere.
			e.log.Warn("update chat message", "channel", j.channel, "alert_id", j.u.AlertID, "err", fmt.Sprint(err))
		}
	}
	return nil
}
