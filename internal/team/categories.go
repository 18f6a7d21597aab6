package team

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// Category is a keyword-matched label for a team's alerts (SIGNL4's
// "services & systems").
type Category struct {
	ID        string    `json:"id"`
	TeamID    string    `json:"teamId"`
	Name      string    `json:"name"`
	Color     string    `json:"color"`
	Keywords  []string  `json:"keywords"`
	MatchAll  bool      `json:"matchAll"`
	CreatedAt time.Time `json:"createdAt"`
	// MutedUntil, while in the future, mutes the category: its alerts
	// are recorded and shown but notify nobody (maintenance).
	MutedUntil *time.Time `json:"mutedUntil,omitempty"`
}

// NewCategory is what creating a category takes.
type NewCategory struct {
	Name     string   `json:"name"`
	Color    string   `json:"color"`
	Keywords []string `json:"keywords"`
	MatchAll bool     `json:"matchAll"`
}

// CreateCategory adds a category to a team.
func (s *Service) CreateCategory(ctx context.Context, teamID string, nc NewCategory) (Category, error) {
	name := strings.TrimSpace(nc.Name)
	if name == "" || len(name) > 100 {
		return Category{}, apperr.New(apperr.Invalid, "category name must have 1 to 100 characters")
	}
	kws := []string{}
	for _, k := range nc.Keywords {
		if k = strings.TrimSpace(k); k != "" {
			kws = append(kws, k)
		}
	}
	if _, err := s.Team(ctx, teamID); err != nil {
		return Category{}, err
	}
	c := Category{ID: store.NewID(), TeamID: teamID, Name: name, Color: strings.TrimSpace(nc.Color), Keywords: kws, MatchAll: nc.MatchAll, CreatedAt: s.clock.Now()}
	kj, _ := json.Marshal(kws)
	defer s.cache.reset()
	_, err := s.db.Exec(ctx, `INSERT INTO categories (id, team_id, name, color, keywords, match_all, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.TeamID, c.Name, c.Color, string(kj), c.MatchAll, store.Micros(c.CreatedAt))
	if store.IsUniqueViolation(err) {
		return Category{}, apperr.New(apperr.Conflict, "team already has a category named %q", name)
	}
	if err != nil {
		return Category{}, fmt.Errorf("insert category: %w", err)
	}
	return c, nil
}

// Categories lists a team's categories in creation order.
func (s *Service) Categories(ctx context.Context, q store.Q, teamID string) ([]Category, error) {
	rows, err := q.Query(ctx, `SELECT id, team_id, name, color, keywords, match_all, created_at, muted_until FROM categories WHERE team_id = ? ORDER BY created_at, id`, teamID)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		var kj string
		var created int64
		var muted *int64
		if err := rows.Scan(&c.ID, &c.TeamID, &c.Name, &c.Color, &kj, &c.MatchAll, &created, &muted); err != nil {
			return nil, fmt.Errorf("scan category: %w", err)
		}
		if err := json.Unmarshal([]byte(kj), &c.Keywords); err != nil {
			return nil, fmt.Errorf("category %s keywords: %w", c.ID, err)
		}
		c.CreatedAt, c.MutedUntil = store.FromMicros(created), store.OptTime(muted)
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteCategory removes a team's category.
func (s *Service) DeleteCategory(ctx context.Context, teamID, id string) error {
	defer s.cache.reset()
	res, err := s.db.Exec(ctx, `DELETE FROM categories WHERE id = ? AND team_id = ?`, id, teamID)
	if err != nil {
		return fmt.Errorf("delete category: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "category %s not found", id)
	}
	return nil
}

// Matches reports whether the category's keywords occur in the event, given
// as its parameters and its full text. A keyword "param word" is looked for
// only in the parameter named param, as in SIGNL4.
func (c Category) Matches(params func(name string) (string, bool), fullText string) bool {
	if len(c.Keywords) == 0 {
		return false
	}
	lower := strings.ToLower(fullText)
	for _, k := range c.Keywords {
		hit := false
		if name, word, ok := strings.Cut(k, " "); ok {
			if v, found := params(name); found {
				hit = strings.Contains(strings.ToLower(v), strings.ToLower(strings.TrimSpace(word)))
			} else {
				hit = strings.Contains(lower, strings.ToLower(k))
			}
		} else {
			hit = strings.Contains(lower, strings.ToLower(k))
		}
		if hit && !c.MatchAll {
			return true
		}
		if !hit && c.MatchAll {
			return false
		}
	}
	return c.MatchAll
}
