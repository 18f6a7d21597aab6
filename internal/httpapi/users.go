package httpapi

import (
	"net/http"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/team"
)

func (s *Server) me(w http.ResponseWriter, r *http.Request, p *principal) {
	writeJSON(w, http.StatusOK, p.User)
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
	if patch.IsAdmin != nil && !p.User.IsAdmin {
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
	if id == p.User.ID {
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
		// Verified lets an instance administrator store an address they
		// confirmed another way, without a code.
		Verified bool `json:"verified"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Verified && !p.User.IsAdmin {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "only administrators may store an address as verified; others confirm a code"))
		return
	}
	addr := req.Address
	if s.cfg.Channels != nil && s.cfg.Channels.Settings != nil {
		var err error
		if addr, err = s.cfg.Channels.Settings.ValidateAddress(strings.ToLower(strings.TrimSpace(req.Channel)), req.Address); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	cm, err := s.teams.AddContactMethod(r.Context(), id, req.Channel, addr, req.Label)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		team.ContactMethod
		VerificationSent  bool   `json:"verificationSent,omitempty"`
		VerificationError string `json:"verificationError,omitempty"`
	}{ContactMethod: cm}
	switch {
	case req.Verified && !cm.Verified:
		if out.ContactMethod, err = s.teams.MarkVerified(r.Context(), id, cm.ID); err != nil {
			s.writeError(w, r, err)
			return
		}
	case !cm.Verified:
		// Send the first code at once; if that fails the address is kept
		// and the member can ask again once the channel works.
		if err := s.startVerification(r, id, cm.ID); err != nil {
			out.VerificationError = plainError(err)
		} else {
			out.VerificationSent = true
		}
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) startVerification(r *http.Request, userID, id string) error {
	cm, code, err := s.teams.StartVerification(r.Context(), userID, id)
	if err != nil {
		return err
	}
	if err := s.sendVerification(r.Context(), cm, code); err != nil {
		if cerr := s.teams.CancelVerification(r.Context(), userID, id); cerr != nil {
			s.log.Warn("forget unsent verification code", "err", cerr)
		}
		return err
	}
	return nil
}

func (s *Server) sendVerificationCode(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.startVerification(r, id, r.PathValue("methodId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"verificationSent": true, "expiresInSeconds": 600})
}

func (s *Server) verifyContactMethod(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	cm, err := s.teams.Verify(r.Context(), id, r.PathValue("methodId"), strings.TrimSpace(req.Code))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cm)
}

// testContactMethod sends a test notification to one of the member's
// verified addresses.
func (s *Server) testContactMethod(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := selfOrAdmin(p, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.channelsReady(); err != nil {
		s.writeError(w, r, err)
		return
	}
	cm, err := s.teams.ContactMethod(r.Context(), id, r.PathValue("methodId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !cm.Verified {
		s.writeError(w, r, apperr.New(apperr.Conflict, "verify this address first"))
		return
	}
	pid, err := s.cfg.Channels.Settings.Send(r.Context(), notify.Message{Channel: cm.Channel, Address: cm.Address, Kind: notify.KindTest, UserID: id,
		NotificationID: "test-" + requestID(r.Context()), Title: "lastmile test notification", Severity: "info",
		Text: "This is a test from lastmile. If you can read it, alerts reach you here."})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sent": true, "providerId": pid})
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
