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
	if _, err := e.db.Exec(ctx, `UPDATE notifications SET status = 'pending', claimed_by = '' WHERE status = 'sending' AND claimed_at < ?`, micros(now.Add(-staleClaim))); err != nil {
		return err
	}
	ids, err := e.ids(ctx, `SELECT id FROM notifications WHERE status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT 1000`, micros(now))
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
	attempts int
	skip     bool // its alert no longer needs it
	provider string
	err      error
	at       time.Time
}

// dispatch claims a chunk of due messages in one transaction, hands them to
// their channels concurrently, and records the outcomes in another.
func (e *Engine) dispatch(ctx context.Context, ids []string, now time.Time) error {
	var claimed []string
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		claimed = claimed[:0]
		for _, id := range ids {
			res, err := tx.Exec(ctx, `UPDATE notifications SET status = 'sending', claimed_by = ?, claimed_at = ?, attempts = attempts + 1 WHERE id = ? AND status = 'pending'`,
				e.id, micros(now), id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				claimed = append(claimed, id)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("claim notifications: %w", err)
	}
	outs := make([]outcome, len(claimed))
	sem := make(chan struct{}, senders)
	var wg sync.WaitGroup
	for i, id := range claimed {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			outs[i] = e.send(ctx, id)
		}()
	}
	wg.Wait()
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		for _, o := range outs {
			if err := e.record(ctx, tx, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// send hands one claimed message to its channel, unless its alert has been
// acknowledged or closed since it was planned.
func (e *Engine) send(ctx context.Context, id string) outcome {
	o := outcome{m: notify.Message{NotificationID: id}}
	var status string
	err := e.db.QueryRow(ctx, `SELECT n.alert_id, n.team_id, n.user_id, n.channel, n.address, n.kind, n.round, n.attempts, a.title, a.text, a.severity, a.status
		FROM notifications n JOIN alerts a ON a.id = n.alert_id WHERE n.id = ?`, id).
		Scan(&o.m.AlertID, &o.m.TeamID, &o.m.UserID, &o.m.Channel, &o.m.Address, &o.m.Kind, &o.m.Round, &o.attempts, &o.m.Title, &o.m.Text, &o.m.Severity, &status)
	if err != nil {
		o.err = err
		return o
	}
	// Reminders of the ack timeout are for acknowledged alerts; all other
	// messages only for alerts nobody has acknowledged.
	if want := string(alert.StatusNew); status != want && !(o.m.Kind == "ack_timeout" && status == string(alert.StatusAcknowledged)) {
		o.skip = true
		return o
	}
	ch, err := e.channels.Get(o.m.Channel)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		o.provider, err = ch.Send(sctx, o.m)
		cancel()
	}
	o.err, o.at = err, e.clock.Now()
	return o
}

// record stores a message's outcome and its timeline entry.
func (e *Engine) record(ctx context.Context, tx *store.Tx, o outcome) error {
	id, m := o.m.NotificationID, o.m
	var err error
	switch {
	case o.skip:
		_, err = tx.Exec(ctx, `UPDATE notifications SET status = 'cancelled' WHERE id = ?`, id)
	case o.err == nil:
		if _, err = tx.Exec(ctx, `UPDATE notifications SET status = 'sent', sent_at = ?, provider_id = ?, last_error = '' WHERE id = ?`, micros(o.at), o.provider, id); err == nil {
			err = alert.AppendTimeline(ctx, tx, m.AlertID, o.at, alert.KindNotified, alert.SystemActor(), fmt.Sprintf("%s to %s (%s, round %d)", m.Channel, m.UserID, m.Kind, m.Round))
		}
	case m.AlertID == "":
		// The message could not even be read: leave it for the stale-claim sweep.
		return nil
	case notify.IsPermanent(o.err) || o.attempts >= maxAttempts:
		if _, err = tx.Exec(ctx, `UPDATE notifications SET status = 'failed', last_error = ? WHERE id = ?`, o.err.Error(), id); err == nil {
			err = alert.AppendTimeline(ctx, tx, m.AlertID, o.at, alert.KindNotifyFailed, alert.SystemActor(),
				fmt.Sprintf("%s to %s failed after %d attempts: %s", m.Channel, m.UserID, o.attempts, o.err))
		}
		if err == nil {
			// Move on to the member's next rule now rather than at its delay.
			_, err = tx.Exec(ctx, `UPDATE notifications SET due_at = ? WHERE id = (SELECT id FROM notifications
				WHERE alert_id = ? AND user_id = ? AND status = 'pending' AND due_at > ? ORDER BY due_at LIMIT 1)`,
				micros(o.at), m.AlertID, m.UserID, micros(o.at))
		}
	default:
		_, err = tx.Exec(ctx, `UPDATE notifications SET status = 'pending', claimed_by = '', due_at = ?, last_error = ? WHERE id = ?`,
			micros(o.at.Add(backoff(o.attempts))), o.err.Error(), id)
	}
	return err
}
