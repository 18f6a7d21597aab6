package duty

import (
	"context"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// Service stores duty plans and answers who is on duty from them.
type Service struct {
	db    *store.DB
	clock clock.Clock
	teams *team.Service
}

// NewService returns a Service.
func NewService(db *store.DB, c clock.Clock, teams *team.Service) *Service {
	return &Service{db: db, clock: c, teams: teams}
}

func invalid(format string, args ...any) error { return apperr.New(apperr.Invalid, format, args...) }

// checkMembers fails unless every user is a member of the team.
func (s *Service) checkMembers(ctx context.Context, teamID string, users ...string) error {
	roles := map[string]bool{}
	ms, err := s.teams.Members(ctx, teamID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		roles[m.UserID] = true
	}
	for _, u := range users {
		if u != "" && !roles[u] {
			return invalid("user %s is not a member of this team", u)
		}
	}
	return nil
}

// notPast refuses plans that would change who was on duty before now.
func (s *Service) notPast(what string, start time.Time) error {
	if now := s.clock.Now(); start.Before(now.Add(-time.Minute)) {
		return invalid("%s starts at %s, in the past: a plan never rewrites who was on duty", what, start.Format(time.RFC3339))
	}
	return nil
}

func (s *Service) endNow(ctx context.Context, table, teamID, id string) error {
	now := store.Micros(s.clock.Now())
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var start int64
		var end *int64
		err := tx.QueryRow(ctx, `SELECT start_at, end_at FROM `+table+` WHERE id = ? AND team_id = ?`, id, teamID).Scan(&start, &end)
		if err != nil {
			return store.NotFound(err, strings.TrimSuffix(table, "s")+" "+id)
		}
		switch {
		case end != nil && *end <= now:
			return apperr.New(apperr.Conflict, "it ended in the past; a plan never rewrites who was on duty")
		case start >= now:
			_, err = tx.Exec(ctx, `DELETE FROM `+table+` WHERE id = ?`, id)
		default:
			_, err = tx.Exec(ctx, `UPDATE `+table+` SET end_at = ? WHERE id = ?`, now, id)
		}
		return err
	})
}
