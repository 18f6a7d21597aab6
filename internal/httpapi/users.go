package httpapi

import (
	"net/http"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

func (s *Server) me(w http.ResponseWriter, r *http.Request, p *principal) {
	writeJSON(w, http.StatusOK, p.user)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p *principal) {
	us, err := s.teams.Users(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if us == nil {
		us = []team.User{}
	}
	writeJSON(w, http.StatusOK, page[team.User]{Items: us})
}

type createUserRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	IsAdmin  bool   `json:"isAdmin"`
	TimeZone string `json:"timeZone"`
	Password string `json:"password"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p *principal) {
	var req createUserRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.teams.CreateUser(r.Context(), team.NewUser(req))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.teams.User(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	var patch team.UserPatch
	if err := decode(w, r, &patch); err != nil {
		s.writeError(w, r, err)
		return
	}
	if patch.IsAdmin != nil && !p.user.IsAdmin {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "only administrators may change isAdmin"))
		return
	}
	u, err := s.teams.UpdateUser(r.Context(), id, patch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if id == p.user.ID {
		s.writeError(w, r, apperr.New(apperr.Conflict, "you cannot delete yourself"))
		return
	}
	if err := s.teams.DeleteUser(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	keys, err := s.teams.APIKeys(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if keys == nil {
		keys = []team.APIKey{}
	}
	writeJSON(w, http.StatusOK, page[team.APIKey]{Items: keys})
}

type createdAPIKey struct {
	team.APIKey
	Key string `json:"key"`
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	k, secret, err := s.teams.CreateAPIKey(r.Context(), id, req.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createdAPIKey{APIKey: k, Key: secret})
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.teams.RevokeAPIKey(r.Context(), id, r.PathValue("keyId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listContactMethods(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	cms, err := s.teams.ContactMethods(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[team.ContactMethod]{Items: cms})
}

func (s *Server) addContactMethod(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Channel string `json:"channel"`
		Address string `json:"address"`
		Label   string `json:"label"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	cm, err := s.teams.AddContactMethod(r.Context(), id, req.Channel, req.Address, req.Label)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, cm)
}

func (s *Server) deleteContactMethod(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.teams.DeleteContactMethod(r.Context(), id, r.PathValue("methodId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
