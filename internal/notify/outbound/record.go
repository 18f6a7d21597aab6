package outbound

import (
	"context"
	"fmt"

	"github.com/lastmile/lastmile/internal/store"
)

// record stores the outcomes: sent and dropped deliveries in one
// statement each, the rest one by one, and each webhook's latest outcome.
func (d *Deliverer) record(ctx context.Context, tx *store.Tx, jobs []*job) error {
	var sent, dropped []any
	latest := map[string]*job{}
	for _, j := range jobs {
		if j.attempted || j.report {
			if l, ok := latest[j.webhookID]; !ok || !j.at.Before(l.at) {
				latest[j.webhookID] = j
			}
		}
		var q string
		var args []any
		switch j.res {
		case resSent:
			sent = append(sent, j.key())
			continue
		case resDropped:
			dropped = append(dropped, j.key())
			continue
		case resHeld:
			q, args = `UPDATE webhook_deliveries SET status = 'pending', claimed_by = '', attempts = attempts - 1, due_at = ?`, []any{store.Micros(j.due)}
		case resRetry:
			q, args = `UPDATE webhook_deliveries SET status = 'pending', claimed_by = '', due_at = ?, last_error = ?`, []any{store.Micros(j.due), j.err}
		case resFailed:
			q, args = `UPDATE webhook_deliveries SET status = 'failed', claimed_by = '', last_error = ?`, []any{j.err}
			if !j.attempted {
				q += `, attempts = attempts - 1`
			}
		}
		args = append(args, j.webhookID, j.source, j.sourceID, d.opt.InstanceID)
		if _, err := tx.Exec(ctx, q+` WHERE webhook_id = ? AND source = ? AND source_id = ? AND claimed_by = ? AND status = 'sending'`, args...); err != nil {
			return fmt.Errorf("record webhook delivery: %w", err)
		}
	}
	if len(sent) > 0 {
		args := append([]any{store.Micros(d.clock.Now()), d.opt.InstanceID}, sent...)
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'sent', sent_at = ?, claimed_by = '', last_error = ''
			WHERE status = 'sending' AND claimed_by = ? AND `+keyExpr+` IN (`+store.Placeholders(len(sent))+`)`, args...); err != nil {
			return fmt.Errorf("record sent webhook deliveries: %w", err)
		}
	}
	if len(dropped) > 0 {
		args := append([]any{d.opt.InstanceID}, dropped...)
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE status = 'sending' AND claimed_by = ? AND `+keyExpr+` IN (`+store.Placeholders(len(dropped))+`)`, args...); err != nil {
			return fmt.Errorf("drop filtered webhook deliveries: %w", err)
		}
	}
	for id, j := range latest {
		if _, err := tx.Exec(ctx, `UPDATE team_webhooks SET last_status = ?, last_error = ?, last_at = ? WHERE id = ?`,
			j.res.word(), j.err, store.Micros(j.at), id); err != nil {
			return fmt.Errorf("record webhook status: %w", err)
		}
	}
	return nil
}
