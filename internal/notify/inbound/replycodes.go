package inbound

import (
	"context"
	"fmt"

	"github.com/lastmile/lastmile/internal/store"
)

// CodeFor returns the reply code that names alertID in texts from address,
// giving it the smallest free one. Codes of closed alerts are freed first,
// so codes stay short ("1a", "2c") however many alerts a number has seen.
func (s *Service) CodeFor(ctx context.Context, address, alertID, userID string) (string, error) {
	var code int
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRow(ctx, `SELECT code FROM reply_codes WHERE address = ? AND alert_id = ?`, address, alertID).Scan(&code)
		if err == nil {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM reply_codes WHERE address = ? AND alert_id IN (SELECT id FROM alerts WHERE status = 'closed')`, address); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT code FROM reply_codes WHERE address = ? ORDER BY code`, address)
		if err != nil {
			return err
		}
		code = 1
		for rows.Next() {
			var c int
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			if c == code {
				code++
			}
		}
		rows.Close()
		_, err = tx.Exec(ctx, `INSERT INTO reply_codes (address, code, alert_id, user_id, created_at) VALUES (?, ?, ?, ?, ?)`,
			address, code, alertID, userID, store.Micros(s.clock.Now()))
		return err
	})
	if store.IsUniqueViolation(err) {
		// Another engine gave this alert (or this code) a code at the same
		// moment: read again.
		return s.CodeFor(ctx, address, alertID, userID)
	}
	if err != nil {
		return "", fmt.Errorf("reply code: %w", err)
	}
	return fmt.Sprint(code), nil
}

// codeTarget is an alert a text from an address can act on.
type codeTarget struct {
	alertID, userID, title, status string
}

// targets returns the open alerts that address has codes for, newest
// first; code 0 means all of them.
func (s *Service) targets(ctx context.Context, address string, code int) ([]codeTarget, error) {
	q := `SELECT r.alert_id, r.user_id, a.title, a.status FROM reply_codes r JOIN alerts a ON a.id = r.alert_id
		WHERE r.address = ? AND a.status <> 'closed'`
	args := []any{address}
	if code > 0 {
		q += ` AND r.code = ?`
		args = append(args, code)
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY r.created_at DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []codeTarget
	for rows.Next() {
		var t codeTarget
		if err := rows.Scan(&t.alertID, &t.userID, &t.title, &t.status); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
