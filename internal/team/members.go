package team

import (
	"context"
	"fmt"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/store"
)

// Member is a user's place in a team.
type Member struct {
	TeamID    string    `json:"teamId"`
	UserID    string    `json:"userId"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	TimeZone  string    `json:"timeZone"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"createdAt"`
}

func invalidRole(r Role) error {
	return apperr.New(apperr.Invalid, "role %q: use admin, manager or responder", r)
}

// AddMember puts the user in the team with role.
func (s *Service) AddMember(ctx context.Context, teamID, userID string, role Role) (Member, error) {
	if !role.Valid() {
		return Member{}, invalidRole(role)
	}
	if _, err := s.Team(ctx, teamID); err != nil {
		return Member{}, err
	}
	if _, err := s.User(ctx, userID); err != nil {
		return Member{}, err
	}
	_, err := s.db.Exec(ctx, `INSERT INTO members (team_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`, teamID, userID, string(role), store.Micros(s.clock.Now()))
	if store.IsUniqueViolation(err) {
		return Member{}, apperr.New(apperr.Conflict, "user %s is already a member of this team", userID)
	}
	if err != nil {
		return Member{}, fmt.Errorf("add member: %w", err)
	}
	return s.Member(ctx, teamID, userID)
}

// SetRole changes a member's role.
func (s *Service) SetRole(ctx context.Context, teamID, userID string, role Role) (Member, error) {
	if !role.Valid() {
		return Member{}, invalidRole(role)
	}
	res, err := s.db.Exec(ctx, `UPDATE members SET role = ? WHERE team_id = ? AND user_id = ?`, string(role), teamID, userID)
	if err != nil {
		return Member{}, fmt.Errorf("set role: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Member{}, apperr.New(apperr.NotFound, "user %s is not a member of team %s", userID, teamID)
	}
	return s.Member(ctx, teamID, userID)
}

// RemoveMember takes the user out of the team.
func (s *Service) RemoveMember(ctx context.Context, teamID, userID string) error {
	res, err := s.db.Exec(ctx, `DELETE FROM members WHERE team_id = ? AND user_id = ?`, teamID, userID)
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "user %s is not a member of team %s", userID, teamID)
	}
	return nil
}

const memberQuery = `SELECT m.team_id, m.user_id, u.email, u.name, u.time_zone, m.role, m.created_at FROM members m JOIN users u ON u.id = m.user_id`

func scanMember(row interface{ Scan(...any) error }) (Member, error) {
	var m Member
	var role string
	var created int64
	err := row.Scan(&m.TeamID, &m.UserID, &m.Email, &m.Name, &m.TimeZone, &role, &created)
	m.Role, m.CreatedAt = Role(role), store.FromMicros(created)
	return m, err
}

// Member returns one membership.
func (s *Service) Member(ctx context.Context, teamID, userID string) (Member, error) {
	m, err := scanMember(s.db.QueryRow(ctx, memberQuery+` WHERE m.team_id = ? AND m.user_id = ?`, teamID, userID))
	if err != nil {
		return Member{}, store.NotFound(err, "member "+userID)
	}
	return m, nil
}

// Members lists a team's members by email.
func (s *Service) Members(ctx context.Context, teamID string) ([]Member, error) {
	rows, err := s.db.Query(ctx, memberQuery+` WHERE m.team_id = ? ORDER BY u.email`, teamID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("scan member: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Roles returns the user's role in each of their teams, by team id.
func (s *Service) Roles(ctx context.Context, userID string) (map[string]Role, error) {
	rows, err := s.db.Query(ctx, `SELECT team_id, role FROM members WHERE user_id = ?`, userID)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	defer rows.Close()
	out := map[string]Role{}
	for rows.Next() {
		var t, r string
		if err := rows.Scan(&t, &r); err != nil {
			return nil, fmt.Errorf("scan role: %w", err)
		}
		out[t] = Role(r)
	}
	return out, rows.Err()
}
