package web

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
)

func (s *Server) authRoutes() []route {
	return []route{
		{"GET /{$}", s.public(s.home)},
		{"GET /login", s.public(s.loginForm)},
		{"POST /login", s.public(s.login)},
		{"POST /logout", s.signedIn(s.logout)},
		{"POST /logout-everywhere", s.signedIn(s.logoutEverywhere)},
	}
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, v *view) error {
	if !v.SignedIn {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/inbox", http.StatusSeeOther)
	return nil
}

type loginData struct {
	Email    string
	Next     string
	Error    string
	OIDCName string
}

func (s *Server) loginData(r *http.Request) loginData {
	d := loginData{Next: safeNext(r.FormValue("next"))}
	if s.oidc != nil {
		d.OIDCName = s.oidc.cfg.Name
		if d.OIDCName == "" {
			d.OIDCName = "single sign-on"
		}
	}
	return d
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, v *view) error {
	if v.SignedIn {
		http.Redirect(w, r, safeNext(r.FormValue("next")), http.StatusSeeOther)
		return nil
	}
	v.Title, v.Bare = "Sign in", true
	return s.render(w, v, "login", s.loginData(r))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, v *view) error {
	email := strings.TrimSpace(r.PostFormValue("email"))
	d := s.loginData(r)
	d.Email = email
	v.Title, v.Bare = "Sign in", true
	if !s.throttle.allow(strings.ToLower(email), s.cfg.Clock.Now()) {
		d.Error = "Too many failed attempts for this address. Wait 15 minutes, or ask an administrator."
		v.Data = d
		s.renderStatus(w, v, http.StatusTooManyRequests, "login")
		return nil
	}
	u, err := s.cfg.Teams.CheckPassword(r.Context(), email, r.PostFormValue("password"))
	if err != nil {
		if apperr.KindOf(err) != apperr.Unauthorized {
			return err
		}
		s.throttle.fail(strings.ToLower(email), s.cfg.Clock.Now())
		d.Error = "Wrong email or password."
		v.Data = d
		s.renderStatus(w, v, http.StatusUnauthorized, "login")
		return nil
	}
	s.throttle.reset(strings.ToLower(email))
	return s.startSession(w, r, u.ID, "password", d.Next)
}

// startSession signs the browser in and sends it on. Any session the
// browser had is ended first, so a session id planted before sign-in is
// worthless after it.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, userID, method, next string) error {
	if old, err := r.Cookie(s.cfg.Sessions.CookieName()); err == nil {
		_ = s.cfg.Sessions.Delete(r.Context(), old.Value)
	}
	ss, err := s.cfg.Sessions.Create(r.Context(), userID, method, r.UserAgent())
	if err != nil {
		return err
	}
	s.cfg.Sessions.SetCookie(w, ss)
	s.cfg.Log.Info("signed in", "user_id", userID, "method", method)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.cfg.Sessions.Delete(r.Context(), v.Session.ID); err != nil {
		return err
	}
	s.cfg.Sessions.ClearCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request, v *view) error {
	n, err := s.cfg.Sessions.DeleteAll(r.Context(), v.User.ID)
	if err != nil {
		return err
	}
	s.cfg.Sessions.ClearCookie(w)
	s.cfg.Log.Info("signed out everywhere", "user_id", v.User.ID, "sessions", n)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// throttle slows password guessing: after 10 failures for one address in
// 15 minutes, that address may not try again until the window passes.
type throttle struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

const (
	throttleWindow = 15 * time.Minute
	throttleMax    = 10
)

func (t *throttle) recent(key string, now time.Time) []time.Time {
	var keep []time.Time
	for _, at := range t.failures[key] {
		if now.Sub(at) < throttleWindow {
			keep = append(keep, at)
		}
	}
	if len(keep) == 0 {
		delete(t.failures, key)
	} else {
		t.failures[key] = keep
	}
	return keep
}

func (t *throttle) allow(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.recent(key, now)) < throttleMax
}

func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failures == nil {
		t.failures = map[string][]time.Time{}
	}
	t.failures[key] = append(t.recent(key, now), now)
	// Bound memory under a spray of random addresses.
	if len(t.failures) > 10000 {
		for k := range t.failures {
			t.recent(k, now)
		}
	}
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, key)
}
