package httpapi

import (
	"net/http"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/team"
)

// connectorTeam checks the caller may manage the team's connectors (team
// admins) and that the server has them.
func (s *Server) connectorTeam(r *http.Request, p *principal, min team.Role) (string, *connector.Service, error) {
	teamID, err := s.teamAccess(r, p, min)
	if err != nil {
		return "", nil, err
	}
	if s.cfg.Connectors == nil {
		return "", nil, apperr.New(apperr.Unavailable, "connectors are not set up on this server")
	}
	return teamID, s.cfg.Connectors, nil
}

func (s *Server) listConnectors(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, cs, err := s.connectorTeam(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := cs.List(r.Context(), teamID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": list})
}

func (s *Server) createConnector(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, cs, err := s.connectorTeam(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req connector.NewConnector
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Instance administrators pass teamAccess for any id: without this, a
	// wrong one fails the insert's foreign key as an internal error.
	if _, err := s.teams.Team(r.Context(), teamID); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := cs.Create(r.Context(), teamID, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) getConnector(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, cs, err := s.connectorTeam(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := cs.Get(r.Context(), teamID, r.PathValue("connectorId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) updateConnector(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, cs, err := s.connectorTeam(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req connector.Patch
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := cs.Update(r.Context(), teamID, r.PathValue("connectorId"), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) deleteConnector(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, cs, err := s.connectorTeam(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := cs.Delete(r.Context(), teamID, r.PathValue("connectorId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// testConnector checks the connection and every permission the
// connector's settings need, and says which are missing.
func (s *Server) testConnector(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, cs, err := s.connectorTeam(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	checks, err := cs.Test(r.Context(), teamID, r.PathValue("connectorId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ok := true
	for _, c := range checks {
		ok = ok && c.OK
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": ok, "checks": checks})
}

func (s *Server) pollConnector(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, cs, err := s.connectorTeam(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := cs.PollNow(r.Context(), teamID, r.PathValue("connectorId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]bool{"pollQueued": true})
}
