// Package web serves the lastmile web app: server-rendered pages for
// responders (inbox, alert, duty, profile) and for managers and
// administrators (teams, planner, escalation, integrations, connectors,
// channels, reports), the PWA manifest and service worker, and the embedded
// assets. Pages work without JavaScript; a little plain JavaScript adds live
// updates, push subscription and in-place actions.
package web

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/notify/settings"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
	"github.com/lastmile/lastmile/internal/web/session"
)

// Config is what the web app needs. The services that back optional pages
// (Channels, Connectors, Outbound) may be nil; their pages then say the
// feature is not set up.
type Config struct {
	// BaseURL is where users reach this server; https turns on Secure
	// cookies.
	BaseURL string
	DB      *store.DB
	Teams   *team.Service
	Alerts  *alert.Service
	Duty    *duty.Service
	// Sessions keeps sign-ins; the REST API shares it so that pages' scripts
	// can call /api/v1 with the session cookie.
	Sessions   *session.Store
	Channels   *settings.Service
	Connectors *connector.Service
	Outbound   *outbound.Service
	// VAPIDPublicKey returns the key browsers subscribe to push with.
	VAPIDPublicKey func(ctx context.Context) (string, error)
	// OIDC, if set, offers single sign-on on the sign-in page.
	OIDC *OIDCConfig
	// Wake tells the notification engine there is work (a new alert, an
	// undo) so it acts at once.
	Wake  func()
	Clock clock.Clock
	Log   *slog.Logger
}

// Server holds the web app's handlers.
type Server struct {
	cfg    Config
	pages  map[string]*template.Template
	assets *assets
	oidc   *oidcProvider
	live   *hub
	// throttle slows password guessing.
	throttle throttle
	// zones caches the time zones templates show times in.
	zones zones
}

// New builds the web app; templates are parsed once here, so a broken
// template fails at start, not on a user's screen.
func New(cfg Config) (*Server, error) {
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	s := &Server{cfg: cfg}
	var err error
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(s.funcs()); err != nil {
		return nil, err
	}
	if cfg.OIDC != nil {
		s.oidc = newOIDCProvider(*cfg.OIDC, cfg.BaseURL, cfg.Clock.Now)
		// Single sign-on set up wrong (Microsoft's shared "common" issuer,
		// an unreadable CA file) stops the server at start, not a member
		// at night.
		if s.oidc.err != nil {
			return nil, fmt.Errorf("single sign-on: %w", s.oidc.err)
		}
	}
	s.live = newHub(cfg.DB, cfg.Clock, cfg.Log)
	return s, nil
}

// Run keeps the live-update hub going until ctx ends.
func (s *Server) Run(ctx context.Context) { s.live.run(ctx) }

// Notify tells the live-update hub that alerts changed here, so open inboxes
// hear of it at once rather than at the next poll.
func (s *Server) Notify() { s.live.poke() }

// secure reports whether the app is served over https.
func secure(baseURL string) bool { return strings.HasPrefix(strings.ToLower(baseURL), "https://") }

// Secure reports whether cookies must be Secure for this base URL.
func Secure(baseURL string) bool { return secure(baseURL) }

// Handler returns the web app's routes behind its security headers and
// cross-origin protection.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, rt.handler)
	}
	mux.Handle("/", s.public(func(w http.ResponseWriter, r *http.Request, v *view) error {
		return notFound()
	}))
	cop := http.NewCrossOriginProtection()
	return s.headers(cop.Handler(mux))
}

// headers sets the headers every page carries: a strict content security
// policy (no inline script, no third-party anything), no framing, no sniffing.
func (s *Server) headers(next http.Handler) http.Handler {
	const csp = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
		"worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		next.ServeHTTP(w, r)
	})
}
