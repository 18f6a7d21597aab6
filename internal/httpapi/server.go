// Package httpapi serves the REST API (/api/v1), the SIGNL4-compatible inbound
// routes, and the health endpoints.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
	"github.com/lastmile/lastmile/internal/web/session"
)

// Config is what the HTTP layer needs to know.
type Config struct {
	// BaseURL is where users reach this server, for links such as the
	// webhook URL shown when a team is created.
	BaseURL string
	// MaxBodyBytes bounds an inbound webhook request.
	MaxBodyBytes int64
	Limits       ingest.Limits
	// Metrics is where the HTTP layer registers its series and what
	// /metrics serves; nil gives a private registry.
	Metrics *prometheus.Registry
	// Wake, if set, is called after a change that gives the notification
	// engine work (a new alert, an undo), so it acts at once.
	Wake func()
	// Channels serves provider settings, callbacks and action links.
	Channels *Channels
	// Connectors keeps the teams' Sentinel and Graph connectors.
	Connectors *connector.Service
	// Sessions, if set, lets the web app's pages call the API with their
	// session cookie.
	Sessions *session.Store
	// Web, if set, serves every path the API does not: the web app.
	Web http.Handler
}

// Server holds the handlers' dependencies.
type Server struct {
	cfg     Config
	db      *store.DB
	teams   *team.Service
	alerts  *alert.Service
	duty    *duty.Service
	clock   clock.Clock
	log     *slog.Logger
	metrics *metrics
}

// New returns a Server.
func New(cfg Config, db *store.DB, teams *team.Service, alerts *alert.Service, duties *duty.Service, c clock.Clock, log *slog.Logger) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 25 << 20
	}
	if cfg.Limits.MaxAttachmentBytes <= 0 {
		cfg.Limits = ingest.DefaultLimits
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	return &Server{cfg: cfg, db: db, teams: teams, alerts: alerts, duty: duties, clock: c, log: log, metrics: newMetrics(cfg.Metrics)}
}

// Handler returns the routes wrapped in the common middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, rt.Handler)
	}
	// Anything else under the API answers in the API's error shape.
	notFound := func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.writeError(w, r, apperr.New(apperr.BadMethod, "method %s is not allowed here; use %s", r.Method, strings.Join(allow, " or ")))
			return
		}
		// The path is not repeated: under /webhook/ it holds a secret.
		s.writeError(w, r, apperr.New(apperr.NotFound, "no such route: see /api/v1/openapi.json"))
	}
	mux.HandleFunc("/api/", notFound)
	mux.HandleFunc("/webhook/", notFound)
	// Without these, ServeMux would redirect POST /webhook to /webhook/ and
	// answer everything else in plain text.
	mux.HandleFunc("/webhook", notFound)
	if s.cfg.Web != nil {
		mux.Handle("/", s.cfg.Web)
	} else {
		mux.HandleFunc("/", notFound)
	}
	// The request ID goes first: the others log it, and the mux sets the route
	// pattern on the very request logRequests holds.
	return withRequestID(s.recoverer(s.logRequests(mux)))
}

// allowedMethods lists the methods that have a route for r's path, for the
// Allow header of a 405. The catch-all patterns do not count.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" && pattern != "/webhook/" && pattern != "/webhook" && pattern != "/" {
			out = append(out, m)
		}
	}
	return out
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		took := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Observe(took.Seconds())
		// Paths can hold team secrets: log the route pattern, never the path.
		s.log.Debug("http request", "method", r.Method, "route", route, "status", rec.status,
			"duration_ms", float64(took.Microseconds())/1000, "request_id", requestID(r.Context()))
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "route", r.Pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
