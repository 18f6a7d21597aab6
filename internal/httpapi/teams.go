package httpapi

import (
	"net/http"
	"strings"

	"github.com/lastmile/lastmile/internal/team"
)

// teamWithSecret is a team as answered when its secret is (re)made: the one
// time the secret and the webhook URLs can be read.
type teamWithSecret struct {
	team.Team
	Secret     string `json:"secret"`
	WebhookURL string `json:"webhookUrl"`
	EventsURL  string `json:"eventsUrl"`
}

func (s *Server) withSecret(t team.Team, secret string) teamWithSecret {
	base := strings.TrimSuffix(s.cfg.BaseURL, "/")
	return teamWithSecret{Team: t, Secret: secret, WebhookURL: base + "/webhook/" + secret, EventsURL: base + "/api/v2/events/" + secret}
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request, p *principal) {
	var ts []team.Team
	var err error
	if p.User.IsAdmin {
		ts, err = s.teams.Teams(r.Context())
	} else {
		ts, err = s.teams.TeamsOf(r.Context(), p.User.ID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[team.Team]{Items: ts})
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Name            string `json:"name"`
		DefaultScenario string `json:"defaultScenario"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, secret, err := s.teams.CreateTeam(r.Context(), req.Name, req.DefaultScenario)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.withSecret(t, secret))
}

func (s *Server) getTeam(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleResponder)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.teams.Team(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) updateTeam(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var patch team.TeamPatch
	if err := decode(w, r, &patch); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.teams.UpdateTeam(r.Context(), id, patch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) deleteTeam(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.teams.DeleteTeam(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotateSecret(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	secret, err := s.teams.RotateSecret(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.teams.Team(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.withSecret(t, secret))
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleResponder)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms, err := s.teams.Members(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[team.Member]{Items: ms})
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		User string    `json:"user"` // id or email
		Role team.Role `json:"role"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Role == "" {
		req.Role = team.RoleResponder
	}
	u, err := s.teams.UserByRef(r.Context(), req.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.teams.AddMember(r.Context(), id, u.ID, req.Role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) updateMember(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Role team.Role `json:"role"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.teams.SetRole(r.Context(), id, r.PathValue("userId"), req.Role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.teams.RemoveMember(r.Context(), id, r.PathValue("userId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listCategories(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleResponder)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, err := s.teams.Categories(r.Context(), s.db, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[team.Category]{Items: cs})
}

func (s *Server) createCategory(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req team.NewCategory
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.teams.CreateCategory(r.Context(), id, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) deleteCategory(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.teams.DeleteCategory(r.Context(), id, r.PathValue("categoryId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
