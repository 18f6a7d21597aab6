package engine

import (
	"context"
	"fmt"
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

func (e *Engine) dispatchAll(ctx context.Context) error {
	now := e.clock.Now()
	if _, err := e.db.Exec(ctx, `UPDATE notifications SET status = 'pending', claimed_by = '' WHERE status = 'sending' AND claimed_at < ?`, micros(now.Add(-staleClaim))); err != nil {
		return err
	}
	ids, err := e.ids(ctx, `SELECT id FROM notifications WHERE status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT 500`, micros(now))
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := e.send(ctx, id, now); err != nil {
			e.log.Error("send notification", "notification_id", id, "err", err)
		}
	}
	return nil
}

// send claims one due message, checks its alert still needs it, hands it to
// its channel and records the outcome on the message and the timeline.
func (e *Engine) send(ctx context.Context, id string, now time.Time) error {
	res, err := e.db.Exec(ctx, `UPDATE notifications SET status = 'sending', claimed_by = ?, claimed_at = ?, attempts = attempts + 1 WHERE id = ? AND status = 'pending'`,
		e.id, micros(now), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // another engine has it
	}
	var m notify.Message
	var status string
	var attempts int
	err = e.db.QueryRow(ctx, `SELECT n.alert_id, n.team_id, n.user_id, n.channel, n.address, n.kind, n.round, n.attempts, a.title, a.text, a.severity, a.status
		FROM notifications n JOIN alerts a ON a.id = n.alert_id WHERE n.id = ?`, id).
		Scan(&m.AlertID, &m.TeamID, &m.UserID, &m.Channel, &m.Address, &m.Kind, &m.Round, &attempts, &m.Title, &m.Text, &m.Severity, &status)
	if err != nil {
		return err
	}
	m.NotificationID = id
	if status != string(alert.StatusNew) {
		_, err := e.db.Exec(ctx, `UPDATE notifications SET status = 'cancelled' WHERE id = ?`, id)
		return err
	}
	var providerID string
	ch, err := e.channels.Get(m.Channel)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		providerID, err = ch.Send(sctx, m)
		cancel()
	}
	done := e.clock.Now()
	if err == nil {
		return e.record(ctx, id, m.AlertID, `UPDATE notifications SET status = 'sent', sent_at = ?, provider_id = ?, last_error = '' WHERE id = ?`,
			[]any{micros(done), providerID, id}, done, alert.KindNotified, fmt.Sprintf("%s to %s (%s, round %d)", m.Channel, m.UserID, m.Kind, m.Round))
	}
	if notify.IsPermanent(err) || attempts >= maxAttempts {
		return e.record(ctx, id, m.AlertID, `UPDATE notifications SET status = 'failed', last_error = ? WHERE id = ?`,
			[]any{err.Error(), id}, done, alert.KindNotifyFailed, fmt.Sprintf("%s to %s failed after %d attempts: %s", m.Channel, m.UserID, attempts, err))
	}
	_, uerr := e.db.Exec(ctx, `UPDATE notifications SET status = 'pending', claimed_by = '', due_at = ?, last_error = ? WHERE id = ?`,
		micros(done.Add(backoff(attempts))), err.Error(), id)
	return uerr
}

// record stores a message's outcome and its timeline entry together.
func (e *Engine) record(ctx context.Context, id, alertID, update string, args []any, at time.Time, kind, text string) error {
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, update, args...); err != nil {
			return err
		}
		return alert.AppendTimeline(ctx, tx, alertID, at, kind, alert.SystemActor(), text)
	})
}
