package connector

import (
	"context"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/store"
)

const (
	// maxWriteAttempts bounds the retries of one write-back.
	maxWriteAttempts = 8
	// staleWrite is how long a write-back may stay "sending" before
	// another instance takes it over.
	staleWrite = 2 * time.Minute
)

// writeBackoff is the wait before retry n: 10 s, 20 s, … capped at 30 min.
func writeBackoff(n int) time.Duration {
	return min(10*time.Second<<(n-1), 30*time.Minute)
}

// statusKinds change the incident when a member does them; the others
// only feed the lifecycle log.
var statusKinds = map[string]bool{"acknowledged": true, "unacknowledged": true, "closed": true, "reopened": true, "annotated": true}

// writeBack sends the due write-backs, oldest first. Write-backs of one
// alert go out in the order they happened: one waits while an earlier one
// of its alert is being sent or waits for a retry, and a failure holds
// back the rest of its alert, so "acknowledged" never lands after
// "closed".
func (r *Runner) writeBack(ctx context.Context) error {
	now := r.clock.Now()
	if _, err := r.db.Exec(ctx, `UPDATE connector_writebacks SET status = 'pending', claimed_by = '' WHERE status = 'sending' AND claimed_at < ?`,
		store.Micros(now.Add(-staleWrite))); err != nil {
		return err
	}
	rows, err := r.db.Query(ctx, `SELECT w.connector_id, c.team_id, w.timeline_id, w.alert_id, w.external_id, w.kind, w.attempts, w.applied
		FROM connector_writebacks w JOIN connectors c ON c.id = w.connector_id
		WHERE c.enabled = ? AND w.status = 'pending' AND w.due_at <= ? AND NOT EXISTS (SELECT 1 FROM connector_writebacks e
			WHERE e.connector_id = w.connector_id AND e.alert_id = w.alert_id AND e.timeline_id < w.timeline_id
			AND (e.status = 'sending' OR (e.status = 'pending' AND e.due_at > ?)))
		ORDER BY w.timeline_id LIMIT 100`, true, store.Micros(now), store.Micros(now))
	if err != nil {
		return err
	}
	type job struct {
		connector, team, alertID, externalID, kind string
		timeline                                   int64
		attempts                                   int
		applied                                    bool
	}
	var jobs []job
	for rows.Next() {
		var j job
		if err := rows.Scan(&j.connector, &j.team, &j.timeline, &j.alertID, &j.externalID, &j.kind, &j.attempts, &j.applied); err != nil {
			rows.Close()
			return err
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	sources := map[string]Source{}
	blocked := map[string]bool{} // alerts whose earlier write-back failed in this pass
	for _, j := range jobs {
		if blocked[j.connector+"/"+j.alertID] {
			continue
		}
		res, err := r.db.Exec(ctx, `UPDATE connector_writebacks SET status = 'sending', claimed_by = ?, claimed_at = ?, attempts = attempts + 1
			WHERE connector_id = ? AND timeline_id = ? AND status = 'pending'`, r.opt.InstanceID, store.Micros(now), j.connector, j.timeline)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		src, ok := sources[j.connector]
		if !ok {
			if _, src, err = r.svc.Source(ctx, j.team, j.connector); err != nil {
				src = nil
			}
			sources[j.connector] = src
		}
		var werr error
		if src == nil {
			werr = fmt.Errorf("the connector's settings do not work")
		} else {
			werr = r.send(ctx, src, j.connector, j.externalID, j.alertID, j.kind, j.timeline, j.applied)
		}
		if err := r.record(ctx, j.connector, j.timeline, j.attempts+1, werr); err != nil {
			return err
		}
		if werr != nil {
			blocked[j.connector+"/"+j.alertID] = true
		}
	}
	return nil
}

// send writes one change back and logs it, as the connector's settings
// ask. A change that reached the source is marked applied at once, so a
// retry after a failed log record does not write it twice.
func (r *Runner) send(ctx context.Context, src Source, connectorID, externalID, alertID, kind string, timelineID int64, applied bool) error {
	c, err := r.change(ctx, alertID, kind, timelineID)
	if err != nil {
		return err
	}
	if !applied && (kind == "created" || (statusKinds[kind] && c.ByUser)) {
		if err := src.Apply(ctx, externalID, c); err != nil {
			return err
		}
		if err := r.applied(ctx, connectorID, externalID, timelineID, c); err != nil {
			return err
		}
		if ga, ok := src.(GroupApplier); ok && c.ByUser && (kind == "acknowledged" || kind == "closed") {
			r.applyGroup(ctx, ga, connectorID, externalID, c)
		}
	}
	if lg, ok := src.(Logger); ok {
		if err := lg.Log(ctx, externalID, c); err != nil {
			return fmt.Errorf("lifecycle log: %w", err)
		}
	}
	return nil
}

// remoteAfter is the source's status (as Item normalises it) once a
// change is applied.
var remoteAfter = map[string]string{"acknowledged": "active", "unacknowledged": "new", "closed": "closed", "reopened": "active"}

// applied records that a change reached the source, and what the source
// now shows: when the next poll reads the incident back, it is our own
// change, not one to follow (an acknowledgement undone here must not come
// back as "taken in Sentinel").
func (r *Runner) applied(ctx context.Context, connectorID, externalID string, timelineID int64, c Change) error {
	return r.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE connector_writebacks SET applied = ? WHERE connector_id = ? AND timeline_id = ?`, true, connectorID, timelineID); err != nil {
			return err
		}
		status, ok := remoteAfter[c.Kind]
		if !ok {
			return nil
		}
		q, args := `UPDATE connector_items SET remote_status = ?`, []any{status}
		if c.Kind == "acknowledged" && c.Email != "" {
			q, args = q+`, remote_owner = ?`, append(args, c.Email)
		}
		_, err := tx.Exec(ctx, q+` WHERE connector_id = ? AND external_id = ?`, append(args, connectorID, externalID)...)
		return err
	})
}

// change reads what a timeline entry says.
func (r *Runner) change(ctx context.Context, alertID, kind string, timelineID int64) (Change, error) {
	var actorType, actorID string
	var at int64
	c := Change{Kind: kind, AlertID: alertID}
	err := r.db.QueryRow(ctx, `SELECT t.actor_type, t.actor_id, t.actor_name, t.text, t.at, a.title, COALESCE(u.email, '')
		FROM timeline t JOIN alerts a ON a.id = t.alert_id LEFT JOIN users u ON u.id = t.actor_id AND t.actor_type = 'user'
		WHERE t.id = ?`, timelineID).Scan(&actorType, &actorID, &c.By, &c.Text, &at, &c.Title, &c.Email)
	if err != nil {
		return Change{}, fmt.Errorf("read timeline entry: %w", err)
	}
	c.ByUser, c.At = actorType == "user", store.FromMicros(at)
	return c, nil
}

// record stores what became of a write-back and the connector's counts.
func (r *Runner) record(ctx context.Context, connectorID string, timelineID int64, attempts int, werr error) error {
	now := r.clock.Now()
	return r.db.InTx(ctx, func(tx *store.Tx) error {
		if werr == nil {
			if _, err := tx.Exec(ctx, `UPDATE connector_writebacks SET status = 'sent', sent_at = ?, last_error = '' WHERE connector_id = ? AND timeline_id = ?`,
				store.Micros(now), connectorID, timelineID); err != nil {
				return err
			}
			// The write error clears once no write-back waits on a failure:
			// the health shows what is wrong now, not what was.
			_, err := tx.Exec(ctx, `UPDATE connectors SET written_count = written_count + 1, last_write_error = CASE WHEN EXISTS
				(SELECT 1 FROM connector_writebacks w WHERE w.connector_id = connectors.id AND w.status = 'pending' AND w.last_error <> '')
				THEN last_write_error ELSE '' END WHERE id = ?`, connectorID)
			return err
		}
		msg := plain(werr)
		status, due := "pending", now.Add(writeBackoff(attempts))
		if attempts >= maxWriteAttempts {
			status = "failed"
		}
		if _, err := tx.Exec(ctx, `UPDATE connector_writebacks SET status = ?, due_at = ?, claimed_by = '', last_error = ? WHERE connector_id = ? AND timeline_id = ?`,
			status, store.Micros(due), msg, connectorID, timelineID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE connectors SET write_errors = write_errors + 1, last_write_error = ? WHERE id = ?`, msg, connectorID)
		return err
	})
}

// applyGroup tells the item's group (a Graph incident) once every item of
// it lastmile holds has caught up: all acknowledged or closed for an
// acknowledgement, all closed for a close. It is a courtesy on top of the
// item's own write-back, so its failure is reported on the connector but
// does not hold the item's write-backs back.
func (r *Runner) applyGroup(ctx context.Context, ga GroupApplier, connectorID, externalID string, c Change) {
	var group string
	if err := r.db.QueryRow(ctx, `SELECT group_id FROM connector_items WHERE connector_id = ? AND external_id = ?`, connectorID, externalID).Scan(&group); err != nil || group == "" {
		return
	}
	var behind int
	q := `SELECT COUNT(*) FROM connector_items i JOIN alerts a ON a.id = i.alert_id WHERE i.connector_id = ? AND i.group_id = ? AND a.status `
	if c.Kind == "closed" {
		q += `<> 'closed'`
	} else {
		q += `= 'new'`
	}
	if err := r.db.QueryRow(ctx, q, connectorID, group).Scan(&behind); err != nil || behind > 0 {
		return
	}
	res, err := r.db.Exec(ctx, `INSERT INTO connector_groups (connector_id, group_id, told) VALUES (?, ?, ?)
		ON CONFLICT (connector_id, group_id) DO UPDATE SET told = excluded.told WHERE connector_groups.told <> excluded.told`, connectorID, group, c.Kind)
	if err != nil {
		r.log.Error("record connector group", "err", err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return // told already
	}
	if err := ga.ApplyGroup(ctx, group, c); err != nil {
		r.log.Warn("connector could not update the group", "connector_id", connectorID, "group", group, "err", err)
		if _, uerr := r.db.Exec(ctx, `UPDATE connectors SET last_write_error = ? WHERE id = ?`, "incident "+group+": "+plain(err), connectorID); uerr != nil {
			r.log.Error("record connector error", "err", uerr)
		}
	}
}
