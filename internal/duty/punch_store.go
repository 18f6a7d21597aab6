package duty

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// PunchIn puts the member on duty now, as primary or as manager. Punching
// in again in the other mode switches mode; in the same mode it changes
// nothing. It reports whether anything changed.
func (s *Service) PunchIn(ctx context.Context, teamID, userID string, manager bool) (bool, error) {
	if err := s.checkMembers(ctx, teamID, userID); err != nil {
		return false, err
	}
	now := store.Micros(s.clock.Now())
	changed := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var id string
		var mgr bool
		err := tx.QueryRow(ctx, `SELECT id, manager FROM punches WHERE team_id = ? AND user_id = ? AND end_at IS NULL`, teamID, userID).Scan(&id, &mgr)
		switch {
		case err == nil && mgr == manager:
			return nil
		case err == nil:
			if err := s.closePunch(ctx, tx, teamID, userID, id, mgr, now); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read punch: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO punches (id, team_id, user_id, manager, start_at) VALUES (?, ?, ?, ?, ?)`, store.NewID(), teamID, userID, manager, now); err != nil {
			return fmt.Errorf("punch in: %w", err)
		}
		changed = true
		return addDutyEvent(ctx, tx, teamID, "punched_in", userID, manager, now)
	})
	return changed, err
}

// PunchOut ends the member's punch-in; it fails with Conflict if there is
// none.
func (s *Service) PunchOut(ctx context.Context, teamID, userID string) error {
	now := store.Micros(s.clock.Now())
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var id string
		var mgr bool
		err := tx.QueryRow(ctx, `SELECT id, manager FROM punches WHERE team_id = ? AND user_id = ? AND end_at IS NULL`, teamID, userID).Scan(&id, &mgr)
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return apperr.New(apperr.Conflict, "user %s is not punched in", userID)
			}
			return fmt.Errorf("read punch: %w", err)
		}
		return s.closePunch(ctx, tx, teamID, userID, id, mgr, now)
	})
}

func (s *Service) closePunch(ctx context.Context, tx *store.Tx, teamID, userID, id string, manager bool, now int64) error {
	if _, err := tx.Exec(ctx, `UPDATE punches SET end_at = ? WHERE id = ?`, now, id); err != nil {
		return fmt.Errorf("punch out: %w", err)
	}
	return addDutyEvent(ctx, tx, teamID, "punched_out", userID, manager, now)
}

func addDutyEvent(ctx context.Context, tx *store.Tx, teamID, kind, userID string, manager bool, at int64) error {
	tier := 1
	if manager {
		tier = ManagerTier
	}
	_, err := tx.Exec(ctx, `INSERT INTO duty_events (team_id, kind, user_id, manager, tier, at) VALUES (?, ?, ?, ?, ?, ?)`, teamID, kind, userID, manager, tier, at)
	if err != nil {
		return fmt.Errorf("record duty event: %w", err)
	}
	return nil
}
