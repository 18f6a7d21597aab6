package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

// principal is the authenticated caller and their team roles.
type principal = team.Access

type ctxKey int

const requestIDKey ctxKey = iota

// apiKeyFrom reads the key from "Authorization: Bearer" or, for SIGNL4
// clients, "X-S4-Api-Key".
func apiKeyFrom(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, key, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(key)
		}
	}
	return strings.TrimSpace(r.Header.Get("X-S4-Api-Key"))
}

func (s *Server) authenticate(ctx context.Context, key string) (*principal, error) {
	if key == "" {
		return nil, apperr.New(apperr.Unauthorized, "missing api key: send Authorization: Bearer <key>")
	}
	u, err := s.teams.Authenticate(ctx, key)
	if err != nil {
		return nil, err
	}
	a, err := s.teams.Access(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// caller authenticates by API key or, from the web app's scripts, by the
// session cookie. A cookie is sent by the browser on its own, so a request
// that changes anything must also carry the session's CSRF token in
// X-CSRF-Token, which another site cannot read.
func (s *Server) caller(r *http.Request) (*principal, error) {
	key := apiKeyFrom(r)
	if key != "" || s.cfg.Sessions == nil {
		return s.authenticate(r.Context(), key)
	}
	ss, err := s.cfg.Sessions.FromRequest(r)
	if err != nil {
		return s.authenticate(r.Context(), key)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if !ss.ValidCSRF(r.Header.Get("X-CSRF-Token")) {
			return nil, apperr.New(apperr.Forbidden, "a request with the session cookie must send the page's CSRF token in X-CSRF-Token")
		}
	}
	a, err := s.teams.Access(r.Context(), ss.UserID)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, apperr.New(apperr.Unauthorized, "your session has ended; sign in again")
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// authed wraps a handler that needs a signed-in caller.
func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, p *principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.caller(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r, p)
	}
}

// admin wraps a handler only instance administrators may call.
func (s *Server) admin(h func(w http.ResponseWriter, r *http.Request, p *principal)) http.HandlerFunc {
	return s.authed(func(w http.ResponseWriter, r *http.Request, p *principal) {
		if !p.User.IsAdmin {
			s.writeError(w, r, apperr.New(apperr.Forbidden, "only administrators may do this"))
			return
		}
		h(w, r, p)
	})
}

// teamAccess checks the caller's role in the team named by the path; teams
// the caller cannot see answer 404, so that their existence does not leak.
func (s *Server) teamAccess(r *http.Request, p *principal, min team.Role) (string, error) {
	id := r.PathValue("id")
	if !p.CanSee(id) {
		return "", apperr.New(apperr.NotFound, "team %s not found", id)
	}
	if !p.HasRole(id, min) {
		return "", apperr.New(apperr.Forbidden, "this needs the %s role in the team", min)
	}
	return id, nil
}

// selfOrAdmin checks the caller acts on their own user, or is an admin.
func selfOrAdmin(p *principal, userID string) error {
	if p.User.ID == userID || p.User.IsAdmin {
		return nil
	}
	return apperr.New(apperr.Forbidden, "you may only change your own user")
}
