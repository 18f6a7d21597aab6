package engine

import (
	"context"
	"fmt"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
)

// statusKinds are the timeline entries that change what a chat message
// about the alert should show.
var statusKinds = map[string]string{"acknowledged": "acknowledged", "unacknowledged": "new", "closed": "closed", "reopened": "new"}

// updates shows status changes on chat messages already sent about an
// alert (a Slack message loses its buttons and says who acknowledged).
// Changes are read from the timeline past a cursor. On PostgreSQL a
// transaction may commit a lower id after a higher one was read, so an
// update can be missed; it is cosmetic (the alert's state is right
// everywhere else), and never shown twice.
func (e *Engine) updates(ctx context.Context) error {
	if e.opt.Updates == nil {
		return nil
	}
	// "WHERE true" settles SQLite's parsing of INSERT … SELECT … ON CONFLICT.
	if _, err := e.db.Exec(ctx, `INSERT INTO engine_cursors (name, value) SELECT 'status_updates', COALESCE(MAX(id), 0) FROM timeline
		WHERE true ON CONFLICT (name) DO NOTHING`); err != nil {
		return err
	}
	var cursor int64
	if err := e.db.QueryRow(ctx, `SELECT value FROM engine_cursors WHERE name = 'status_updates'`).Scan(&cursor); err != nil {
		return err
	}
	type change struct {
		id                                     int64
		alertID, kind, actor, title, text, sev string
		at                                     int64
	}
	rows, err := e.db.Query(ctx, `SELECT t.id, t.alert_id, t.kind, t.actor_name, t.at, a.title, a.text, a.severity FROM timeline t JOIN alerts a ON a.id = t.alert_id
		WHERE t.id > ? AND t.kind IN ('acknowledged', 'unacknowledged', 'closed', 'reopened') ORDER BY t.id LIMIT 200`, cursor)
	if err != nil {
		return err
	}
	var cs []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.id, &c.alertID, &c.kind, &c.actor, &c.at, &c.title, &c.text, &c.sev); err != nil {
			rows.Close()
			return err
		}
		cs = append(cs, c)
	}
	rows.Close()
	if len(cs) == 0 {
		return nil
	}
	// Take the batch first: whichever engine moves the cursor sends these.
	res, err := e.db.Exec(ctx, `UPDATE engine_cursors SET value = ? WHERE name = 'status_updates' AND value = ?`, cs[len(cs)-1].id, cursor)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	for _, c := range cs {
		rows, err := e.db.Query(ctx, `SELECT DISTINCT channel, address, provider_id FROM notifications WHERE alert_id = ? AND status = 'sent'
			AND bundled_into = '' AND channel IN ('slack', 'teams')`, c.alertID)
		if err != nil {
			return err
		}
		type sentTo struct{ channel, address, provider string }
		var ts []sentTo
		for rows.Next() {
			var s sentTo
			if err := rows.Scan(&s.channel, &s.address, &s.provider); err != nil {
				rows.Close()
				return err
			}
			ts = append(ts, s)
		}
		rows.Close()
		for _, t := range ts {
			u, ok := e.opt.Updates(t.channel)
			if !ok {
				continue
			}
			up := notify.Update{AlertID: c.alertID, Title: c.title, Text: c.text, Severity: c.sev, Status: statusKinds[c.kind], By: c.actor, At: store.FromMicros(c.at), Address: t.address}
			if e.opt.BaseURL != "" {
				up.AlertURL = e.opt.BaseURL + "/alerts/" + c.alertID
			}
			sctx, cancel := context.WithTimeout(ctx, sendTimeout)
			err := u.Update(sctx, t.provider, up)
			cancel()
			if err != nil {
				// Cosmetic: log and go on; the alert itself is right.
				e.log.Warn("update chat message", "channel", t.channel, "alert_id", c.alertID, "err", fmt.Sprint(err))
			}
		}
	}
	return nil
}
