package session

import (
	"context"
	"fmt"
)

// DeleteOthers ends every session of the user except keepID (a cookie
// value): a changed password must lock out whoever knew the old one, but not
// the person who just changed it. It returns how many sessions ended.
func (s *Store) DeleteOthers(ctx context.Context, userID, keepID string) (int64, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM web_sessions WHERE user_id = ? AND id_hash <> ?`, userID, HashToken(keepID))
	if err != nil {
		return 0, fmt.Errorf("delete other sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
