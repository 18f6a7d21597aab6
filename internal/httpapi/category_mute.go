package httpapi

import (
	"net/http"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

// muteCategory mutes a category for a while (maintenance): its alerts are
// recorded but notify nobody.
func (s *Server) muteCategory(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Minutes int `json:"minutes"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Minutes < 1 {
		s.writeError(w, r, apperr.New(apperr.Invalid, "minutes must be at least 1; to unmute, DELETE the mute"))
		return
	}
	c, err := s.teams.MuteCategory(r.Context(), id, r.PathValue("categoryId"), time.Duration(req.Minutes)*time.Minute)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// unmuteCategory ends a category's mute at once.
func (s *Server) unmuteCategory(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.teams.MuteCategory(r.Context(), id, r.PathValue("categoryId"), 0)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
