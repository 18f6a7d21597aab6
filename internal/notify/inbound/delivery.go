package inbound

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/engine"
	"github.com/lastmile/lastmile/internal/store"
)

// Delivery report outcomes: reached means the person got it (or could
// have), lost means they did not, and the member's next rule should not
// wait for its delay.
var (
	reached = map[string]string{"delivered": "delivered", "read": "read", "completed": "answered", "answered": "answered"}
	lost    = map[string]string{"undelivered": "undelivered", "failed": "failed", "busy": "busy", "no-answer": "not answered", "canceled": "cancelled"}
)

// Delivery records a provider's report on a message it accepted, puts the
// final ones on the alert's timeline, and, when the message did not reach
// the member, moves their next notification rule up to now.
func (s *Service) Delivery(ctx context.Context, channel, providerID, status, detail string) error {
	if providerID == "" {
		return nil
	}
	now := s.clock.Now()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var id, alertID, userID, who string
		err := tx.QueryRow(ctx, `SELECT n.id, n.alert_id, n.user_id, COALESCE(u.email, n.user_id) FROM notifications n LEFT JOIN users u ON u.id = n.user_id
			WHERE n.channel = ? AND n.provider_id = ?`, channel, providerID).Scan(&id, &alertID, &userID, &who)
		if errors.Is(err, sql.ErrNoRows) {
			// The provider called back before the engine recorded the id
			// (or it is a test message): keep it for when the id arrives.
			_, err := tx.Exec(ctx, `INSERT INTO early_deliveries (channel, provider_id, status, detail, at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (provider_id, channel, status) DO NOTHING`, channel, providerID, status, detail, store.Micros(now))
			return err
		}
		if err != nil {
			return fmt.Errorf("find notification for delivery report: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE notifications SET delivery = ?, delivery_at = ? WHERE id = ?`, status, store.Micros(now), id); err != nil {
			return err
		}
		if word, ok := reached[status]; ok {
			return alert.AppendTimeline(ctx, tx, alertID, now, alert.KindDelivered, alert.SystemActor(), fmt.Sprintf("%s to %s %s", channel, who, word))
		}
		word, ok := lost[status]
		if !ok {
			return nil // queued, sent, ringing, in-progress: not final
		}
		text := fmt.Sprintf("%s to %s %s", channel, who, word)
		if detail != "" {
			text += ": " + detail
		}
		if err := engine.NextRuleNow(ctx, tx, alertID, userID, now); err != nil {
			return err
		}
		return alert.AppendTimeline(ctx, tx, alertID, now, alert.KindNotifyFailed, alert.SystemActor(), text)
	})
}
