package duty

import (
	"context"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// MoveShift moves a shift that has not begun so that it starts at start,
// keeping its member, tier and length. It is one statement, so the plan
// never holds the shift twice or not at all (as delete-then-add could).
func (s *Service) MoveShift(ctx context.Context, teamID, id string, start time.Time) (PlannedShift, error) {
	if err := s.notPast("the moved shift", start); err != nil {
		return PlannedShift{}, err
	}
	now := store.Micros(s.clock.Now())
	var sh PlannedShift
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var st, en int64
		err := tx.QueryRow(ctx, `SELECT id, team_id, user_id, tier, start_at, end_at FROM duty_shifts WHERE id = ? AND team_id = ?`, id, teamID).
			Scan(&sh.ID, &sh.TeamID, &sh.UserID, &sh.Tier, &st, &en)
		if err != nil {
			return store.NotFound(err, "shift "+id)
		}
		if st < now {
			return apperr.New(apperr.Conflict, "the shift has begun and cannot be moved: a plan never rewrites who was on duty; delete it and add a new one")
		}
		sh.Start = start.UTC()
		sh.End = sh.Start.Add(time.Duration(en-st) * time.Microsecond)
		if _, err := tx.Exec(ctx, `UPDATE duty_shifts SET start_at = ?, end_at = ? WHERE id = ?`, store.Micros(sh.Start), store.Micros(sh.End), id); err != nil {
			return fmt.Errorf("move shift: %w", err)
		}
		return nil
	})
	if err != nil {
		return PlannedShift{}, err
	}
	return sh, nil
}
