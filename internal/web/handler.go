package web

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
	"github.com/lastmile/lastmile/internal/web/session"
)

// maxFormBytes bounds a form post; pages never send more (attachments are
// not uploaded through the web app).
const maxFormBytes = 1 << 20

// view is one request's page state: who is signed in, their roles, and what
// the layout needs around the page's own data.
type view struct {
	r        *http.Request
	SignedIn bool
	// Access is the signed-in user and their role in each of their teams;
	// zero when nobody is signed in.
	team.Access
	Session session.Session
	// Title is the page title; Nav names the navigation entry to highlight.
	Title string
	Nav   string
	// Bare hides the navigation (sign-in pages).
	Bare  bool
	Flash *flash
	Data  any
}

// CSRF is the token forms carry.
func (v *view) CSRF() string { return v.Session.CSRF }

// IsAdmin reports whether the user is an instance administrator.
func (v *view) IsAdmin() bool { return v.User.IsAdmin }

// Manages reports whether the user is a manager or admin of any team (or an
// instance administrator): they see the console's entries.
func (v *view) Manages() bool {
	if v.IsAdmin() {
		return true
	}
	for _, r := range v.Roles {
		if r.AtLeast(team.RoleManager) {
			return true
		}
	}
	return false
}

// teamRole checks the user has at least role min in the team. A team the
// user cannot see answers "not found", so that its existence does not leak.
func (v *view) teamRole(teamID string, min team.Role) error {
	if !v.CanSee(teamID) {
		return apperr.New(apperr.NotFound, "team not found")
	}
	if !v.HasRole(teamID, min) {
		return apperr.New(apperr.Forbidden, "this page needs the %s role in the team", min)
	}
	return nil
}

type flash struct {
	Kind string // ok, error
	Text string
}

const flashCookie = "lastmile_flash"

// pageFunc handles a page; an error is shown as an error page (or, for
// "not signed in", sends the browser to sign in).
type pageFunc func(w http.ResponseWriter, r *http.Request, v *view) error

// public serves a page anyone may see; a signed-in user is still known.
func (s *Server) public(h pageFunc) http.Handler {
	return s.wrap(h, false, false)
}

// signedIn serves a page only to a signed-in user; unsafe methods must
// carry the session's CSRF token.
func (s *Server) signedIn(h pageFunc) http.Handler {
	return s.wrap(h, true, false)
}

// adminOnly serves a page only to instance administrators.
func (s *Server) adminOnly(h pageFunc) http.Handler {
	return s.wrap(h, true, true)
}

func (s *Server) wrap(h pageFunc, needUser, needAdmin bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &view{r: r}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		err := s.identify(r.Context(), r, v)
		if err == nil && needUser && !v.SignedIn {
			err = apperr.New(apperr.Unauthorized, "sign in to see this page")
		}
		if err == nil && v.SignedIn && r.Method != http.MethodGet && r.Method != http.MethodHead {
			err = session.CheckCSRF(r, v.Session)
		}
		if err == nil && needAdmin && !v.IsAdmin() {
			err = apperr.New(apperr.Forbidden, "only administrators may open this page")
		}
		if err == nil {
			v.Flash = readFlash(w, r)
			err = h(w, r, v)
		}
		if err != nil {
			s.fail(w, r, v, err)
		}
	})
}

// identify loads the session, user and roles, if the request has a session.
func (s *Server) identify(ctx context.Context, r *http.Request, v *view) error {
	ss, err := s.cfg.Sessions.FromRequest(r)
	if err != nil {
		if apperr.KindOf(err) == apperr.Unauthorized {
			return nil
		}
		return err
	}
	a, err := s.cfg.Teams.Access(ctx, ss.UserID)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	v.SignedIn, v.Access, v.Session = true, a, ss
	return nil
}

// fail answers with an error page, or sends a signed-out browser to sign in.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	k := apperr.KindOf(err)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		k, err = apperr.TooLarge, apperr.New(apperr.TooLarge, "the form is larger than lastmile accepts")
	}
	if k == apperr.Unauthorized && (r.Method == http.MethodGet || r.Method == http.MethodHead) && !v.SignedIn {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	msg := "Something went wrong on our side. It has been logged; try again in a moment."
	if e, ok := apperr.As(err); ok && k != apperr.Internal {
		msg = e.Message
	} else if k == apperr.NotFound {
		msg = "There is nothing here, or you may not see it."
	} else {
		s.cfg.Log.Error("page failed", "method", r.Method, "route", r.Pattern, "err", err)
	}
	status := apperr.HTTPStatus(k)
	if back := sameSiteReferer(r); back != "" && !wantsJSON(r) && r.Method == http.MethodPost && v.SignedIn && k != apperr.Internal {
		// A form that was refused goes back to where it was, with the reason
		// on top, rather than to a dead-end error page.
		setFlash(w, "error", msg)
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"code": string(k), "message": msg})
		return
	}
	v.Title = errorTitle(k)
	v.Bare = !v.SignedIn
	v.Data = struct{ Message string }{msg}
	s.renderStatus(w, v, status, "error")
}

// sameSiteReferer returns the local path of the page a form was posted
// from, or "" when it came from elsewhere.
func sameSiteReferer(r *http.Request) string {
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host || ref.Path == "" {
		return ""
	}
	return safeNext(ref.RequestURI())
}

func errorTitle(k apperr.Kind) string {
	switch k {
	case apperr.NotFound:
		return "Not found"
	case apperr.Forbidden:
		return "Not allowed"
	case apperr.Invalid:
		return "Please check what you entered"
	case apperr.Unavailable:
		return "Not set up"
	}
	return "Something went wrong"
}

func notFound() error {
	return apperr.New(apperr.NotFound, "There is nothing here, or you may not see it.")
}

// pathTeam checks the user has at least role min in the team the path
// names ({id}) and loads it.
func (s *Server) pathTeam(r *http.Request, v *view, min team.Role) (team.Team, error) {
	id := r.PathValue("id")
	if err := v.teamRole(id, min); err != nil {
		return team.Team{}, err
	}
	return s.cfg.Teams.Team(r.Context(), id)
}

// wantsJSON reports whether a script asked (pages' fetch calls send Accept:
// application/json and get JSON errors they can show in place).
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// redirect sends the browser on after a form post, with a message for the
// next page (post/redirect/get, so reloading does not post twice).
func redirect(w http.ResponseWriter, r *http.Request, to, message string) error {
	if message != "" {
		setFlash(w, "ok", message)
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"message": message, "redirect": to})
		return nil
	}
	http.Redirect(w, r, safeNext(to), http.StatusSeeOther)
	return nil
}

// safeNext keeps a redirect target on this site: only a local path is
// followed, so a crafted ?next= cannot send users elsewhere.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func setFlash(w http.ResponseWriter, kind, text string) {
	if len(text) > 500 {
		text = text[:500]
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(kind + "|" + text)),
		Path: "/", MaxAge: 60, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func readFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil || r.Method != http.MethodGet {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	kind, text, ok := strings.Cut(string(b), "|")
	if !ok || text == "" {
		return nil
	}
	return &flash{Kind: kind, Text: text}
}
