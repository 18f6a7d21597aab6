package httpapi

import (
	"net/http"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

func (s *Server) getAlertSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleResponder)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.teams.AlertSettings(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) putAlertSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var a team.AlertSettings
	if err := decode(w, r, &a); err != nil {
		s.writeError(w, r, err)
		return
	}
	if a, err = s.teams.SetAlertSettings(r.Context(), id, a); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) getTeamRules(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleResponder)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rules, err := s.teams.TeamRules(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[team.TeamRule]{Items: rules})
}

func (s *Server) putTeamRules(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var rules []team.TeamRule
	if err := decode(w, r, &rules); err != nil {
		s.writeError(w, r, err)
		return
	}
	if rules, err = s.teams.SetTeamRules(r.Context(), id, rules); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[team.TeamRule]{Items: rules})
}

func (s *Server) getUserRules(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.teams.User(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	rules, err := s.teams.UserRules(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[team.UserRule]{Items: rules})
}

func (s *Server) putUserRules(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req []struct {
		ContactMethodID string `json:"contactMethodId"`
		DelaySeconds    int    `json:"delaySeconds"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rules := make([]team.UserRule, len(req))
	for i, x := range req {
		rules[i] = team.UserRule{ContactMethodID: x.ContactMethodID, DelaySeconds: x.DelaySeconds}
	}
	out, err := s.teams.SetUserRules(r.Context(), id, rules)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[team.UserRule]{Items: out})
}

// memberRules shows how a member will be reached for the team's alerts,
// to the member and to the team's managers.
func (s *Server) memberRules(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleResponder)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	userID := r.PathValue("userId")
	if userID != p.User.ID && !p.HasRole(id, team.RoleManager) {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "only managers may see how other members are reached"))
		return
	}
	if _, err := s.teams.Member(r.Context(), id, userID); err != nil {
		s.writeError(w, r, err)
		return
	}
	rules, err := s.teams.RulesFor(r.Context(), id, userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[team.EffectiveRule]{Items: rules})
}
