package team

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// Team is a group of people who share alerts.
type Team struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	DefaultScenario string    `json:"defaultScenario"`
	SecretPrefix    string    `json:"secretPrefix"`
	CreatedAt       time.Time `json:"createdAt"`
}

// TeamPatch changes the fields that are set.
type TeamPatch struct {
	Name            *string `json:"name"`
	DefaultScenario *string `json:"defaultScenario"`
}

const teamCols = `id, name, default_scenario, secret_prefix, created_at`

func scanTeam(row interface{ Scan(...any) error }) (Team, error) {
	var t Team
	var created int64
	err := row.Scan(&t.ID, &t.Name, &t.DefaultScenario, &t.SecretPrefix, &created)
	t.CreatedAt = store.FromMicros(created)
	return t, err
}

func validateTeamName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", apperr.New(apperr.Invalid, "team name must have 1 to 100 characters")
	}
	return name, nil
}

// CreateTeam adds a team and returns its inbound secret, shown only now.
// An empty scenario means single_ack.
func (s *Service) CreateTeam(ctx context.Context, name, scenario string) (Team, string, error) {
	name, err := validateTeamName(name)
	if err != nil {
		return Team{}, "", err
	}
	if scenario == "" {
		scenario = ScenarioSingleAck
	}
	if !ValidScenario(scenario) {
		return Team{}, "", invalidScenario(scenario)
	}
	secret := newSecret("")
	t := Team{ID: store.NewID(), Name: name, DefaultScenario: scenario, SecretPrefix: secret[:6], CreatedAt: s.clock.Now()}
	_, err = s.db.Exec(ctx, `INSERT INTO teams (id, name, secret_hash, secret_prefix, default_scenario, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, hashSecret(secret), t.SecretPrefix, t.DefaultScenario, store.Micros(t.CreatedAt))
	if store.IsUniqueViolation(err) {
		return Team{}, "", apperr.New(apperr.Conflict, "a team named %q already exists", name)
	}
	if err != nil {
		return Team{}, "", fmt.Errorf("insert team: %w", err)
	}
	return t, secret, nil
}

// RotateSecret gives the team a new inbound secret; the old one stops working.
func (s *Service) RotateSecret(ctx context.Context, teamID string) (string, error) {
	secret := newSecret("")
	defer s.cache.reset()
	res, err := s.db.Exec(ctx, `UPDATE teams SET secret_hash = ?, secret_prefix = ? WHERE id = ?`, hashSecret(secret), secret[:6], teamID)
	if err != nil {
		return "", fmt.Errorf("rotate team secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", apperr.New(apperr.NotFound, "team %s not found", teamID)
	}
	return secret, nil
}

// Team returns the team with id.
func (s *Service) Team(ctx context.Context, id string) (Team, error) {
	t, err := scanTeam(s.db.QueryRow(ctx, `SELECT `+teamCols+` FROM teams WHERE id = ?`, id))
	if err != nil {
		return Team{}, store.NotFound(err, "team "+id)
	}
	return t, nil
}

// TeamByRef finds a team by id or name.
func (s *Service) TeamByRef(ctx context.Context, ref string) (Team, error) {
	t, err := scanTeam(s.db.QueryRow(ctx, `SELECT `+teamCols+` FROM teams WHERE id = ? OR name = ?`, ref, ref))
	if err != nil {
		return Team{}, store.NotFound(err, "team "+ref)
	}
	return t, nil
}

// TeamBySecret returns the team whose inbound secret is secret.
func (s *Service) TeamBySecret(ctx context.Context, secret string) (Team, error) {
	t, err := scanTeam(s.db.QueryRow(ctx, `SELECT `+teamCols+` FROM teams WHERE secret_hash = ?`, hashSecret(secret)))
	if err != nil {
		return Team{}, store.NotFound(err, "team secret")
	}
	return t, nil
}

// Teams lists all teams by name.
func (s *Service) Teams(ctx context.Context) ([]Team, error) {
	return s.queryTeams(ctx, `SELECT `+teamCols+` FROM teams ORDER BY name`)
}

// TeamsOf lists the teams the user is a member of.
func (s *Service) TeamsOf(ctx context.Context, userID string) ([]Team, error) {
	return s.queryTeams(ctx, `SELECT t.id, t.name, t.default_scenario, t.secret_prefix, t.created_at
		FROM teams t JOIN members m ON m.team_id = t.id WHERE m.user_id = ? ORDER BY t.name`, userID)
}

func (s *Service) queryTeams(ctx context.Context, q string, args ...any) ([]Team, error) {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	defer rows.Close()
	out := []Team{}
	for rows.Next() {
		t, err := scanTeam(rows)
		if err != nil {
			return nil, fmt.Errorf("scan team: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func invalidScenario(s string) error {
	return apperr.New(apperr.Invalid, "defaultScenario %q: use single_ack, multi_ack or emergency", s)
}

// UpdateTeam applies p to the team.
func (s *Service) UpdateTeam(ctx context.Context, id string, p TeamPatch) (Team, error) {
	t, err := s.Team(ctx, id)
	if err != nil {
		return Team{}, err
	}
	if p.Name != nil {
		if t.Name, err = validateTeamName(*p.Name); err != nil {
			return Team{}, err
		}
	}
	if p.DefaultScenario != nil {
		if !ValidScenario(*p.DefaultScenario) {
			return Team{}, invalidScenario(*p.DefaultScenario)
		}
		t.DefaultScenario = *p.DefaultScenario
	}
	defer s.cache.reset()
	_, err = s.db.Exec(ctx, `UPDATE teams SET name = ?, default_scenario = ? WHERE id = ?`, t.Name, t.DefaultScenario, id)
	if store.IsUniqueViolation(err) {
		return Team{}, apperr.New(apperr.Conflict, "a team named %q already exists", t.Name)
	}
	if err != nil {
		return Team{}, fmt.Errorf("update team: %w", err)
	}
	return t, nil
}

// DeleteTeam removes a team and everything it owns.
func (s *Service) DeleteTeam(ctx context.Context, id string) error {
	defer s.cache.reset()
	res, err := s.db.Exec(ctx, `DELETE FROM teams WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete team: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "team %s not found", id)
	}
	return nil
}
