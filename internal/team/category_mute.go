package team

import (
	"context"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// MaxMute bounds a mute: maintenance that outlasts a month is a category
// to delete, not to mute, and a forgotten mute must not silence a team for
// ever.
const MaxMute = 31 * 24 * time.Hour

// MutedAt reports whether the category is muted at t.
func (c Category) MutedAt(t time.Time) bool {
	return c.MutedUntil != nil && t.Before(*c.MutedUntil)
}

// MuteCategory mutes a team's category for d (at most MaxMute); d = 0
// unmutes it.
func (s *Service) MuteCategory(ctx context.Context, teamID, id string, d time.Duration) (Category, error) {
	if d < 0 || d > MaxMute {
		return Category{}, apperr.New(apperr.Invalid, "a category can be muted for up to %d days", int(MaxMute.Hours()/24))
	}
	var until any
	if d > 0 {
		until = store.Micros(s.clock.Now().Add(d))
	}
	defer s.cache.reset()
	res, err := s.db.Exec(ctx, `UPDATE categories SET muted_until = ? WHERE id = ? AND team_id = ?`, until, id, teamID)
	if err != nil {
		return Category{}, fmt.Errorf("mute category: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Category{}, apperr.New(apperr.NotFound, "category %s not found", id)
	}
	cats, err := s.Categories(ctx, s.db, teamID)
	if err != nil {
		return Category{}, err
	}
	for _, c := range cats {
		if c.ID == id {
			return c, nil
		}
	}
	return Category{}, apperr.New(apperr.NotFound, "category %s not found", id)
}
