package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
)

const (
	// maxAttempts bounds the retries of a message that keeps failing.
	maxAttempts = 5
	// staleClaim is how long a message may stay "sending" before another
	// engine assumes its sender died and sends it again: a message may then
	// go out twice, but is never lost.
	staleClaim = 2 * time.Minute
	// sendTimeout bounds one provider call.
	sendTimeout = 30 * time.Second
)

// backoff is the wait before retry n (1-based): 10 s, 20 s, 40 s, …
func backoff(n int) time.Duration { return 10 * time.Second << (n - 1) }

// senders is how many messages one engine hands to providers at once.
const senders = 16

func (e *Engine) dispatchAll(ctx context.Context) error {
	now := e.clock.Now()
	if _, err := e.db.Exec(ctx, `UPDATE notifications SET status = 'pending', claimed_by = '' WHERE status = 'sending' AND claimed_at < ?`, store.Micros(now.Add(-staleClaim))); err != nil {
		return err
	}
	ids, err := e.ids(ctx, `SELECT id FROM notifications WHERE status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT 1000`, store.Micros(now))
	if err != nil {
		return err
	}
	for start := 0; start < len(ids); start += chunk {
		if err := e.dispatch(ctx, ids[start:min(start+chunk, len(ids))], now); err != nil {
			return err
		}
	}
	return nil
}

// outcome is what became of one message.
type outcome struct {
	m        notify.Message
	who      string // the member's email, for the timeline
	attempts int
	skip     bool // its alert no longer needs it
	provider string
	err      error
	at       time.Time
}

// dispatch claims a chunk of due messages in one statement, hands them to
// their channels concurrently, and records the outcomes in a few
// statements: on PostgreSQL every statement is a round trip.
func (e *Engine) dispatch(ctx context.Context, ids []string, now time.Time) error {
	var claimed []string
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		args := append([]any{e.id, store.Micros(now)}, store.Args(ids)...)
		rows, err := tx.Query(ctx, `UPDATE notifications SET status = 'sending', claimed_by = ?, claimed_at = ?, attempts = attempts + 1
			WHERE `+store.Claimable(tx.Dialect(), "notifications", "id", "status = 'pending'", len(ids))+` RETURNING id`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		claimed = claimed[:0]
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			claimed = append(claimed, id)
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("claim notifications: %w", err)
	}
	if len(claimed) == 0 {
		return nil
	}
	outs, err := e.load(ctx, claimed)
	if err != nil {
		return err
	}
	sem := make(chan struct{}, senders)
	var wg sync.WaitGroup
	for i := range outs {
		if outs[i].skip {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			e.send(ctx, &outs[i])
		}()
	}
	wg.Wait()
	return e.db.InTx(ctx, func(tx *store.Tx) error { return e.recordAll(ctx, tx, outs) })
}

// load reads the claimed messages and marks those whose alert no longer
// needs them. Reminders of the ack timeout are for acknowledged alerts; all
// other messages only for alerts nobody has acknowledged.
func (e *Engine) load(ctx context.Context, ids []string) ([]outcome, error) {
	rows, err := e.db.Query(ctx, `SELECT n.id, n.alert_id, n.team_id, n.user_id, n.channel, n.address, n.kind, n.round, n.attempts, a.title, a.text, a.severity, a.status,
		COALESCE(u.email, n.user_id)
		FROM notifications n JOIN alerts a ON a.id = n.alert_id LEFT JOIN users u ON u.id = n.user_id WHERE n.id IN (`+store.Placeholders(len(ids))+`)`, store.Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("read notifications: %w", err)
	}
	defer rows.Close()
	var outs []outcome
	for rows.Next() {
		var o outcome
		var status string
		if err := rows.Scan(&o.m.NotificationID, &o.m.AlertID, &o.m.TeamID, &o.m.UserID, &o.m.Channel, &o.m.Address, &o.m.Kind, &o.m.Round, &o.attempts,
			&o.m.Title, &o.m.Text, &o.m.Severity, &status, &o.who); err != nil {
			return nil, err
		}
		o.skip = status != string(alert.StatusNew) && !(o.m.Kind == "ack_timeout" && status == string(alert.StatusAcknowledged))
		outs = append(outs, o)
	}
	return outs, rows.Err()
}

// send hands one message to its channel.
func (e *Engine) send(ctx context.Context, o *outcome) {
	ch, err := e.channels.Get(o.m.Channel)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		o.provider, err = ch.Send(sctx, o.m)
		cancel()
	}
	o.err, o.at = err, e.clock.Now()
}

// recordAll stores the outcomes and their timeline entries, grouping the
// common cases into one statement each.
func (e *Engine) recordAll(ctx context.Context, tx *store.Tx, outs []outcome) error {
	var sent, skipped []string
	var entries []alert.TimelineEntry
	for _, o := range outs {
		m := o.m
		switch {
		case o.skip:
			skipped = append(skipped, m.NotificationID)
		case o.err == nil:
			sent = append(sent, m.NotificationID)
			if o.provider != "" {
				if _, err := tx.Exec(ctx, `UPDATE notifications SET provider_id = ? WHERE id = ?`, o.provider, m.NotificationID); err != nil {
					return err
				}
			}
			entries = append(entries, alert.TimelineEntry{AlertID: m.AlertID, At: o.at, Kind: alert.KindNotified, Actor: alert.SystemActor(),
				Text: fmt.Sprintf("%s to %s (%s, round %d)", m.Channel, o.who, m.Kind, m.Round)})
		case notify.IsPermanent(o.err) || o.attempts >= maxAttempts:
			if _, err := tx.Exec(ctx, `UPDATE notifications SET status = 'failed', last_error = ? WHERE id = ?`, o.err.Error(), m.NotificationID); err != nil {
				return err
			}
			// Move on to the member's next rule now rather than at its delay.
			if _, err := tx.Exec(ctx, `UPDATE notifications SET due_at = ? WHERE id = (SELECT id FROM notifications
				WHERE alert_id = ? AND user_id = ? AND status = 'pending' AND due_at > ? ORDER BY due_at LIMIT 1)`,
				store.Micros(o.at), m.AlertID, m.UserID, store.Micros(o.at)); err != nil {
				return err
			}
			entries = append(entries, alert.TimelineEntry{AlertID: m.AlertID, At: o.at, Kind: alert.KindNotifyFailed, Actor: alert.SystemActor(),
				Text: fmt.Sprintf("%s to %s failed after %d attempts: %s", m.Channel, o.who, o.attempts, o.err)})
		default:
			if _, err := tx.Exec(ctx, `UPDATE notifications SET status = 'pending', claimed_by = '', due_at = ?, last_error = ? WHERE id = ?`,
				store.Micros(o.at.Add(backoff(o.attempts))), o.err.Error(), m.NotificationID); err != nil {
				return err
			}
		}
	}
	if len(sent) > 0 {
		args := append([]any{store.Micros(e.clock.Now())}, store.Args(sent)...)
		if _, err := tx.Exec(ctx, `UPDATE notifications SET status = 'sent', sent_at = ?, last_error = '' WHERE id IN (`+store.Placeholders(len(sent))+`)`, args...); err != nil {
			return err
		}
	}
	if len(skipped) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE notifications SET status = 'cancelled' WHERE id IN (`+store.Placeholders(len(skipped))+`)`, store.Args(skipped)...); err != nil {
			return err
		}
	}
	return alert.AppendTimelines(ctx, tx, entries)
}
