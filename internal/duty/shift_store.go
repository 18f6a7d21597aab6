package duty

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/store"
)

// PlannedShift is a stored explicit shift.
type PlannedShift struct {
	ID     string    `json:"id"`
	TeamID string    `json:"teamId"`
	UserID string    `json:"userId"`
	Tier   int       `json:"tier"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// AddShifts stores shifts. With replace, existing shifts of the same tier
// that overlap a new one give way: the overlapping part is cut out of them
// (SIGNL4's "override existing").
func (s *Service) AddShifts(ctx context.Context, teamID string, shifts []PlannedShift, replace bool) ([]PlannedShift, error) {
	if len(shifts) == 0 || len(shifts) > 1000 {
		return nil, invalid("send 1 to 1000 shifts")
	}
	var users []string
	for i, sh := range shifts {
		if err := (Plan{Shifts: []Shift{{UserID: sh.UserID, Tier: sh.Tier, Start: sh.Start, End: sh.End}}}).Validate(); err != nil {
			return nil, invalid("shift %d: %s", i+1, strings.TrimPrefix(err.Error(), "shift 1 "))
		}
		if err := s.notPast(fmt.Sprintf("shift %d", i+1), sh.Start); err != nil {
			return nil, err
		}
		users = append(users, sh.UserID)
	}
	if err := s.checkMembers(ctx, teamID, users...); err != nil {
		return nil, err
	}
	out := make([]PlannedShift, len(shifts))
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		for i, sh := range shifts {
			if replace {
				if err := s.cutShifts(ctx, tx, teamID, sh.Tier, sh.Start, sh.End); err != nil {
					return err
				}
			}
			sh.ID, sh.TeamID = store.NewID(), teamID
			if _, err := tx.Exec(ctx, `INSERT INTO duty_shifts (id, team_id, user_id, tier, start_at, end_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				sh.ID, teamID, sh.UserID, sh.Tier, store.Micros(sh.Start), store.Micros(sh.End), store.Micros(s.clock.Now())); err != nil {
				return fmt.Errorf("insert shift: %w", err)
			}
			out[i] = sh
		}
		return nil
	})
	return out, err
}

// cutShifts removes [from, to) from the team's shifts at tier.
func (s *Service) cutShifts(ctx context.Context, tx *store.Tx, teamID string, tier int, from, to time.Time) error {
	rows, err := tx.Query(ctx, `SELECT id, user_id, start_at, end_at FROM duty_shifts WHERE team_id = ? AND tier = ? AND start_at < ? AND end_at > ?`,
		teamID, tier, store.Micros(to), store.Micros(from))
	if err != nil {
		return fmt.Errorf("find overlapping shifts: %w", err)
	}
	type hit struct {
		id, user   string
		start, end int64
	}
	var hits []hit
	for rows.Next() {
		var h hit
		if err := rows.Scan(&h.id, &h.user, &h.start, &h.end); err != nil {
			rows.Close()
			return err
		}
		hits = append(hits, h)
	}
	rows.Close()
	f, t := store.Micros(from), store.Micros(to)
	for _, h := range hits {
		if _, err := tx.Exec(ctx, `DELETE FROM duty_shifts WHERE id = ?`, h.id); err != nil {
			return err
		}
		for _, part := range [][2]int64{{h.start, f}, {t, h.end}} {
			if part[1] > part[0] {
				if _, err := tx.Exec(ctx, `INSERT INTO duty_shifts (id, team_id, user_id, tier, start_at, end_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					store.NewID(), teamID, h.user, tier, part[0], part[1], store.Micros(s.clock.Now())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Shifts lists the team's explicit shifts that overlap [from, to).
func (s *Service) Shifts(ctx context.Context, teamID string, from, to time.Time) ([]PlannedShift, error) {
	rows, err := s.db.Query(ctx, `SELECT id, team_id, user_id, tier, start_at, end_at FROM duty_shifts WHERE team_id = ? AND start_at < ? AND end_at > ? ORDER BY start_at, tier, id`,
		teamID, store.Micros(to), store.Micros(from))
	if err != nil {
		return nil, fmt.Errorf("list shifts: %w", err)
	}
	defer rows.Close()
	out := []PlannedShift{}
	for rows.Next() {
		var sh PlannedShift
		var st, en int64
		if err := rows.Scan(&sh.ID, &sh.TeamID, &sh.UserID, &sh.Tier, &st, &en); err != nil {
			return nil, err
		}
		sh.Start, sh.End = store.FromMicros(st), store.FromMicros(en)
		out = append(out, sh)
	}
	return out, rows.Err()
}

// endNow ends a plan item of table at now: an item that has not begun is
// deleted, one in progress is cut, one that is over cannot change.

// DeleteShift removes a shift that has not begun and cuts one in progress.
func (s *Service) DeleteShift(ctx context.Context, teamID, id string) error {
	return s.endNow(ctx, "duty_shifts", teamID, id)
}
