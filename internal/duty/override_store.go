package duty

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/store"
)

// StoredOverride is a stored override.
type StoredOverride struct {
	ID       string    `json:"id"`
	TeamID   string    `json:"teamId"`
	FromUser string    `json:"fromUser,omitempty"`
	ToUser   string    `json:"toUser"`
	Tier     int       `json:"tier"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// CreateOverride stores an override.
func (s *Service) CreateOverride(ctx context.Context, teamID string, o StoredOverride) (StoredOverride, error) {
	if o.FromUser == "" && o.Tier == 0 {
		o.Tier = 1
	}
	if err := (Plan{Overrides: []Override{{FromUser: o.FromUser, ToUser: o.ToUser, Tier: o.Tier, Start: o.Start, End: o.End}}}).Validate(); err != nil {
		return StoredOverride{}, invalid("%s", strings.Replace(err.Error(), "override 1", "override", 1))
	}
	if err := s.notPast("override", o.Start); err != nil {
		return StoredOverride{}, err
	}
	if err := s.checkMembers(ctx, teamID, o.FromUser, o.ToUser); err != nil {
		return StoredOverride{}, err
	}
	o.ID, o.TeamID = store.NewID(), teamID
	_, err := s.db.Exec(ctx, `INSERT INTO duty_overrides (id, team_id, from_user, to_user, tier, start_at, end_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, teamID, o.FromUser, o.ToUser, o.Tier, store.Micros(o.Start), store.Micros(o.End), store.Micros(s.clock.Now()))
	if err != nil {
		return StoredOverride{}, fmt.Errorf("insert override: %w", err)
	}
	return o, nil
}

// Overrides lists the team's overrides that overlap [from, to).
func (s *Service) Overrides(ctx context.Context, teamID string, from, to time.Time) ([]StoredOverride, error) {
	rows, err := s.db.Query(ctx, `SELECT id, team_id, from_user, to_user, tier, start_at, end_at FROM duty_overrides WHERE team_id = ? AND start_at < ? AND end_at > ? ORDER BY start_at, id`,
		teamID, store.Micros(to), store.Micros(from))
	if err != nil {
		return nil, fmt.Errorf("list overrides: %w", err)
	}
	defer rows.Close()
	out := []StoredOverride{}
	for rows.Next() {
		var o StoredOverride
		var st, en int64
		if err := rows.Scan(&o.ID, &o.TeamID, &o.FromUser, &o.ToUser, &o.Tier, &st, &en); err != nil {
			return nil, err
		}
		o.Start, o.End = store.FromMicros(st), store.FromMicros(en)
		out = append(out, o)
	}
	return out, rows.Err()
}

// DeleteOverride removes an override that has not begun and cuts one in
// progress.
func (s *Service) DeleteOverride(ctx context.Context, teamID, id string) error {
	return s.endNow(ctx, "duty_overrides", teamID, id)
}
