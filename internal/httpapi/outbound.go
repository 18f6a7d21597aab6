package httpapi

import (
	"net/http"
	"strconv"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/team"
)

// outboundTeam checks the caller is a team admin and the server has
// outbound webhooks.
func (s *Server) outboundTeam(r *http.Request, p *principal) (string, *outbound.Service, error) {
	teamID, err := s.teamAccess(r, p, team.RoleAdmin)
	if err != nil {
		return "", nil, err
	}
	if s.cfg.Channels == nil || s.cfg.Channels.Outbound == nil {
		return "", nil, apperr.New(apperr.Unavailable, "outbound webhooks are not set up on this server")
	}
	return teamID, s.cfg.Channels.Outbound, nil
}

func (s *Server) listOutbound(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, ob, err := s.outboundTeam(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	hs, err := ob.List(r.Context(), teamID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": hs})
}

func (s *Server) createOutbound(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, ob, err := s.outboundTeam(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		URL    string `json:"url"`
		Events []int  `json:"events"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	h, secret, err := ob.Create(r.Context(), teamID, req.URL, req.Events)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": h, "secret": secret})
}

func (s *Server) getOutbound(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, ob, err := s.outboundTeam(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h, err := ob.Get(r.Context(), teamID, r.PathValue("webhookId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) updateOutbound(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, ob, err := s.outboundTeam(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Enabled *bool  `json:"enabled"`
		Events  *[]int `json:"events"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	h, err := ob.Update(r.Context(), teamID, r.PathValue("webhookId"), req.Enabled, req.Events)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) deleteOutbound(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, ob, err := s.outboundTeam(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := ob.Delete(r.Context(), teamID, r.PathValue("webhookId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) rotateOutboundSecret(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, ob, err := s.outboundTeam(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	secret, err := ob.RotateSecret(r.Context(), teamID, r.PathValue("webhookId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": secret})
}

func (s *Server) testOutbound(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, ob, err := s.outboundTeam(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := ob.SendTest(r.Context(), teamID, r.PathValue("webhookId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, d)
}

func (s *Server) listOutboundDeliveries(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, ob, err := s.outboundTeam(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			s.writeError(w, r, apperr.New(apperr.Invalid, "limit must be a number from 1 to 500"))
			return
		}
		limit = n
	}
	ds, err := ob.Deliveries(r.Context(), teamID, r.PathValue("webhookId"), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ds})
}
