package team

import (
	"context"
	"fmt"
)

// EndSessions signs the user out of every browser, for when a password is
// reset from the command line.
func (s *Service) EndSessions(ctx context.Context, userID string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM web_sessions WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}
