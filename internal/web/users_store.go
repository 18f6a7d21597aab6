package web

import (
	"context"
	"fmt"

	"github.com/lastmile/lastmile/internal/team"
)

// consoleUserTeam is one team a user belongs to, as the users page lists.
type consoleUserTeam struct {
	TeamID string
	Name   string
	Role   team.Role
}

// consoleTeamsByUser returns every user's teams in one query, rather than
// one query per user.
func (s *Server) consoleTeamsByUser(ctx context.Context) (map[string][]consoleUserTeam, error) {
	rows, err := s.cfg.DB.Query(ctx, `SELECT m.user_id, t.id, t.name, m.role FROM members m JOIN teams t ON t.id = m.team_id ORDER BY t.name`)
	if err != nil {
		return nil, fmt.Errorf("list memberships: %w", err)
	}
	defer rows.Close()
	out := map[string][]consoleUserTeam{}
	for rows.Next() {
		var userID, role string
		var ut consoleUserTeam
		if err := rows.Scan(&userID, &ut.TeamID, &ut.Name, &role); err != nil {
			return nil, fmt.Errorf("scan membership: %w", err)
		}
		ut.Role = team.Role(role)
		out[userID] = append(out[userID], ut)
	}
	return out, rows.Err()
}
