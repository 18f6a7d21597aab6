package team

import "context"

// Access is what a signed-in user may see and do: whether they are an
// instance administrator, and their role in each of their teams. The REST
// API and the web app both decide with it.
type Access struct {
	User  User
	Roles map[string]Role // by team id
}

// CanSee reports whether the user may read the team's alerts and events.
func (a Access) CanSee(teamID string) bool {
	_, ok := a.Roles[teamID]
	return a.User.IsAdmin || ok
}

// HasRole reports whether the user has at least role min in the team.
func (a Access) HasRole(teamID string, min Role) bool {
	return a.User.IsAdmin || a.Roles[teamID].AtLeast(min)
}

// TeamIDs returns the teams whose alerts the user sees; nil means all.
func (a Access) TeamIDs() []string {
	if a.User.IsAdmin {
		return nil
	}
	out := make([]string, 0, len(a.Roles))
	for t := range a.Roles {
		out = append(out, t)
	}
	return out
}

// Access reads what the user may see and do now.
func (s *Service) Access(ctx context.Context, userID string) (Access, error) {
	u, err := s.User(ctx, userID)
	if err != nil {
		return Access{}, err
	}
	roles, err := s.Roles(ctx, u.ID)
	if err != nil {
		return Access{}, err
	}
	return Access{User: u, Roles: roles}, nil
}
