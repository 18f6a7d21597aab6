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

// heldBack marks, in last_error, a message waiting for a limit.
const heldBack = "held back by a per-address limit"

// backoff is the wait before retry n (1-based): 10 s, 20 s, 40 s, …
func backoff(n int) time.Duration { return 10 * time.Second << (n - 1) }

// senders is how many messages one engine hands to providers at once.
const senders = 32

// dispatchChunk is how many messages share one claim and one record
// transaction: each costs a commit (an fsync), and providers answer
// concurrently, so larger chunks send more per second.
const dispatchChunk = 500

func (e *Engine) dispatchAll(ctx context.Context) error {
	now := e.clock.Now()
	if _, err := e.db.Exec(ctx, `UPDATE notifications SET status = 'pending', claimed_by = '' WHERE status = 'sending' AND claimed_at < ?`, store.Micros(now.Add(-staleClaim))); err != nil {
		return err
	}
	ids, err := e.ids(ctx, `SELECT id FROM notifications WHERE status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT 1000`, store.Micros(now))
	if err != nil {
		return err
	}
	e.more = e.more || len(ids) == 1000
	for start := 0; start < len(ids); start += dispatchChunk {
		if err := e.dispatch(ctx, ids[start:min(start+dispatchChunk, len(ids))], now); err != nil {
			return err
		}
	}
	return nil
}

// outcome is what became of one message.
type outcome struct {
	m        notify.Message
	who      string // the member's email, for the timeline
	cmID     string // the contact method, if the message has one
	attempts int
	skip     bool   // its alert no longer needs it
	held     string // why it may not be sent (unverified, opted out)
	until    time.Time
	limit    notify.Rate // the limit that holds it back until then
	lastErr  string      // from an earlier attempt
	carrier  string      // the message that carries it in a bundle
	provider string
	err      error
	at       time.Time
}

// sendable reports whether o goes to a provider in this pass.
func (o *outcome) sendable() bool {
	return !o.skip && o.held == "" && o.until.IsZero() && o.carrier == ""
}

// dispatch claims a chunk of due messages in one statement, checks them
// against the members' contact methods and the per-address limits, bundles
// what waits for one address, hands them to their channels concurrently,
// and records the outcomes in a few statements: on PostgreSQL every
// statement is a round trip.
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
	if err := e.throttle(ctx, outs, now); err != nil {
		return err
	}
	bundle(outs)
	if err := e.enrich(ctx, outs); err != nil {
		return err
	}
	sem := make(chan struct{}, senders)
	var wg sync.WaitGroup
	for i := range outs {
		if !outs[i].sendable() {
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
	if err := e.db.InTx(ctx, func(tx *store.Tx) error { return e.recordAll(ctx, tx, outs) }); err != nil {
		return err
	}
	return e.earlyDeliveries(ctx, outs)
}

// earlyDeliveries applies delivery reports that came in before the
// messages they are about were recorded as sent.
func (e *Engine) earlyDeliveries(ctx context.Context, outs []outcome) error {
	if e.opt.Deliveries == nil {
		return nil
	}
	var ids []string
	for _, o := range outs {
		if o.provider != "" && o.err == nil {
			ids = append(ids, o.provider)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := e.db.Query(ctx, `SELECT channel, provider_id, status, detail FROM early_deliveries WHERE provider_id IN (`+store.Placeholders(len(ids))+`) ORDER BY at`,
		store.Args(ids)...)
	if err != nil {
		return err
	}
	type report struct{ channel, id, status, detail string }
	var rs []report
	for rows.Next() {
		var r report
		if err := rows.Scan(&r.channel, &r.id, &r.status, &r.detail); err != nil {
			rows.Close()
			return err
		}
		rs = append(rs, r)
	}
	rows.Close()
	for _, r := range rs {
		if err := e.opt.Deliveries(ctx, r.channel, r.id, r.status, r.detail); err != nil {
			return err
		}
		if _, err := e.db.Exec(ctx, `DELETE FROM early_deliveries WHERE channel = ? AND provider_id = ? AND status = ?`, r.channel, r.id, r.status); err != nil {
			return err
		}
	}
	return nil
}

// load reads the claimed messages and marks those whose alert no longer
// needs them. Reminders of the ack timeout are for acknowledged alerts; all
// other messages only for alerts nobody has acknowledged. A contact method
// that is not verified, or whose number sent STOP, holds its messages.
func (e *Engine) load(ctx context.Context, ids []string) ([]outcome, error) {
	rows, err := e.db.Query(ctx, `SELECT n.id, n.alert_id, n.team_id, n.user_id, n.contact_method_id, n.channel, n.address, n.kind, n.round, n.attempts, n.last_error,
		a.title, a.text, a.severity, a.status, COALESCE(u.email, n.user_id), COALESCE(t.name, ''),
		CASE WHEN n.contact_method_id = '' THEN 1 WHEN cm.id IS NULL THEN 0 WHEN cm.verified_at IS NULL THEN -1 WHEN cm.opted_out_at IS NOT NULL THEN -2 ELSE 1 END
		FROM notifications n JOIN alerts a ON a.id = n.alert_id LEFT JOIN users u ON u.id = n.user_id LEFT JOIN teams t ON t.id = n.team_id
		LEFT JOIN contact_methods cm ON cm.id = n.contact_method_id
		WHERE n.id IN (`+store.Placeholders(len(ids))+`)`, store.Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("read notifications: %w", err)
	}
	defer rows.Close()
	var outs []outcome
	for rows.Next() {
		var o outcome
		var status string
		var cm int
		if err := rows.Scan(&o.m.NotificationID, &o.m.AlertID, &o.m.TeamID, &o.m.UserID, &o.cmID, &o.m.Channel, &o.m.Address, &o.m.Kind, &o.m.Round, &o.attempts, &o.lastErr,
			&o.m.Title, &o.m.Text, &o.m.Severity, &status, &o.who, &o.m.TeamName, &cm); err != nil {
			return nil, err
		}
		o.skip = status != string(alert.StatusNew) && !(o.m.Kind == "ack_timeout" && status == string(alert.StatusAcknowledged))
		switch cm {
		case 0:
			o.held = "the contact method was removed"
		case -1:
			o.held = "the contact method is not verified yet"
		case -2:
			o.held = "the number replied STOP; it gets no messages until it sends START"
		}
		outs = append(outs, o)
	}
	return outs, rows.Err()
}

// enrich adds what recipients act on: the alert's link, the signed
// actions, and the SMS reply code.
func (e *Engine) enrich(ctx context.Context, outs []outcome) error {
	for i := range outs {
		o := &outs[i]
		if !o.sendable() {
			continue
		}
		m := &o.m
		if e.opt.BaseURL != "" {
			m.AlertURL = e.opt.BaseURL + "/alerts/" + m.AlertID
			if m.Kind == notify.KindBundle {
				m.AlertURL = e.opt.BaseURL + "/alerts"
			}
		}
		if m.Kind != notify.KindBundle && e.opt.Actions != nil {
			acts := []struct{ name, label string }{{"acknowledge", "Acknowledge"}, {"close", "Close"}, {"escalate", "Escalate"}}
			if m.Kind == "ack_timeout" {
				acts = acts[1:2] // already acknowledged: closing is what is left
			}
			for _, a := range acts {
				tok := e.opt.Actions.Issue(m.NotificationID, m.AlertID, m.UserID, a.name)
				m.Actions = append(m.Actions, notify.Action{Name: a.name, Label: a.label, Token: tok, URL: e.opt.BaseURL + "/actions/" + tok})
			}
		}
		if m.Channel == "sms" && m.Kind != notify.KindBundle && e.opt.ReplyCodes != nil {
			code, err := e.opt.ReplyCodes.CodeFor(ctx, m.Address, m.AlertID, m.UserID)
			if err != nil {
				return err
			}
			m.ReplyCode = code
		}
	}
	return nil
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
	if e.opt.Observe != nil {
		e.opt.Observe(ctx, o.m.Channel, err)
	}
}

// recordAll stores the outcomes and their timeline entries, grouping the
// common cases into one statement each.
func (e *Engine) recordAll(ctx context.Context, tx *store.Tx, outs []outcome) error {
	var sent, skipped []string
	var entries []alert.TimelineEntry
	now := e.clock.Now()
	note := func(m notify.Message, at time.Time, kind, text string) {
		entries = append(entries, alert.TimelineEntry{AlertID: m.AlertID, At: at, Kind: kind, Actor: alert.SystemActor(), Text: text})
	}
	carriers := map[string]*outcome{}
	for i := range outs {
		carriers[outs[i].m.NotificationID] = &outs[i]
	}
	for _, o := range outs {
		m := o.m
		switch {
		case o.skip:
			skipped = append(skipped, m.NotificationID)
		case o.held != "":
			if err := e.failed(ctx, tx, m, now, o.held); err != nil {
				return err
			}
			note(m, now, alert.KindNotifyFailed, fmt.Sprintf("%s to %s not sent: %s", m.Channel, o.who, o.held))
		case !o.until.IsZero():
			// Held back by a limit: not an attempt. It goes out when the
			// limit allows, bundled with whatever else waits then.
			if _, err := tx.Exec(ctx, `UPDATE notifications SET status = 'pending', claimed_by = '', attempts = attempts - 1, due_at = ?, last_error = ? WHERE id = ?`,
				store.Micros(o.until), heldBack, m.NotificationID); err != nil {
				return err
			}
			if o.lastErr != heldBack { // once per message, however often it waits
				note(m, now, alert.KindThrottled, fmt.Sprintf("%s to %s held back by the limit of %d per %s for one address; goes out at %s",
					m.Channel, o.who, o.limit.N, o.limit.Per, o.until.Format("15:04:05 MST")))
			}
		case o.carrier != "":
			// A bundled message shares the fate of the one carrying it.
			c := carriers[o.carrier]
			switch {
			case c.err == nil:
				if _, err := tx.Exec(ctx, `UPDATE notifications SET status = 'sent', sent_at = ?, bundled_into = ? WHERE id = ?`,
					store.Micros(now), o.carrier, m.NotificationID); err != nil {
					return err
				}
				note(m, now, alert.KindNotified, fmt.Sprintf("%s to %s, bundled with other alerts (%s, round %d)", m.Channel, o.who, m.Kind, m.Round))
			case notify.IsPermanent(c.err) || c.attempts >= maxAttempts:
				if err := e.failed(ctx, tx, m, c.at, c.err.Error()); err != nil {
					return err
				}
				note(m, c.at, alert.KindNotifyFailed, fmt.Sprintf("%s to %s (in a bundle) failed: %s", m.Channel, o.who, c.err))
			default:
				if _, err := tx.Exec(ctx, `UPDATE notifications SET status = 'pending', claimed_by = '', attempts = attempts - 1, due_at = ?, last_error = ? WHERE id = ?`,
					store.Micros(c.at.Add(backoff(c.attempts))), c.err.Error(), m.NotificationID); err != nil {
					return err
				}
			}
		case o.err == nil:
			sent = append(sent, m.NotificationID)
			if o.provider != "" {
				if _, err := tx.Exec(ctx, `UPDATE notifications SET provider_id = ? WHERE id = ?`, o.provider, m.NotificationID); err != nil {
					return err
				}
			}
			what := m.Kind
			if m.Kind == notify.KindBundle {
				what = fmt.Sprintf("bundle of %d alerts", len(m.Bundle))
			}
			note(m, o.at, alert.KindNotified, fmt.Sprintf("%s to %s (%s, round %d)", m.Channel, o.who, what, m.Round))
		case notify.IsGone(o.err):
			if err := e.failed(ctx, tx, m, o.at, o.err.Error()); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM contact_methods WHERE id = ?`, o.cmID); err != nil {
				return err
			}
			note(m, o.at, alert.KindNotifyFailed, fmt.Sprintf("%s to %s failed: %s; the address no longer exists and was removed", m.Channel, o.who, o.err))
		case notify.IsPermanent(o.err) || o.attempts >= maxAttempts:
			if err := e.failed(ctx, tx, m, o.at, o.err.Error()); err != nil {
				return err
			}
			note(m, o.at, alert.KindNotifyFailed, fmt.Sprintf("%s to %s failed after %d attempts: %s", m.Channel, o.who, o.attempts, o.err))
		default:
			if _, err := tx.Exec(ctx, `UPDATE notifications SET status = 'pending', claimed_by = '', due_at = ?, last_error = ? WHERE id = ?`,
				store.Micros(o.at.Add(backoff(o.attempts))), o.err.Error(), m.NotificationID); err != nil {
				return err
			}
			if o.attempts == 1 {
				note(m, o.at, alert.KindNotifyFailed, fmt.Sprintf("%s to %s failed, retrying: %s", m.Channel, o.who, o.err))
			}
		}
	}
	if len(sent) > 0 {
		args := append([]any{store.Micros(now)}, store.Args(sent)...)
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

// failed gives a message up and moves on to the member's next rule now
// rather than at its delay.
func (e *Engine) failed(ctx context.Context, tx *store.Tx, m notify.Message, at time.Time, why string) error {
	if _, err := tx.Exec(ctx, `UPDATE notifications SET status = 'failed', last_error = ? WHERE id = ?`, why, m.NotificationID); err != nil {
		return err
	}
	return NextRuleNow(ctx, tx, m.AlertID, m.UserID, at)
}

// NextRuleNow brings a member's next pending message for an alert forward
// to at: their next notification rule is used now, not at its delay,
// because the last one did not reach them.
func NextRuleNow(ctx context.Context, q store.Q, alertID, userID string, at time.Time) error {
	_, err := q.Exec(ctx, `UPDATE notifications SET due_at = ? WHERE id = (SELECT id FROM notifications
		WHERE alert_id = ? AND user_id = ? AND status = 'pending' AND due_at > ? ORDER BY due_at LIMIT 1)`,
		store.Micros(at), alertID, userID, store.Micros(at))
	return err
}
