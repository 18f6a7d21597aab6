package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/team"
)

// Connector push: a Sentinel automation rule runs a Logic App that posts
// each new incident to the connector's secret push URL, so the alert goes
// out in about a second instead of after the poll interval. See
// docs/sentinel.md (Push from Sentinel) and deploy/azure/.

const (
	// maxPushBody bounds what a push may send. The incident trigger's
	// envelope names the incident near its start, so a longer one is read
	// to this length and its id still found (see connector.PushFields).
	maxPushBody = 256 << 10
	// pushFetchTimeout bounds reading the pushed incident from Microsoft;
	// past it the push is answered 202 and the connector polls at once.
	pushFetchTimeout = 10 * time.Second
)

// pushResults are the results lastmile_connector_pushes_total counts.
func pushResults() []string {
	return []string{connector.PushCreated, connector.PushExists, connector.PushIgnored, connector.PushQueued,
		"unknown_secret", "refused", "invalid", "too_large", "error"}
}

// pushCounter returns lastmile_connector_pushes_total, registered in the
// server's registry by whichever request needs it first.
func (s *Server) pushCounter() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lastmile_connector_pushes_total",
		Help: "Pushes to connectors' push URLs, by result: created, exists, ignored, queued (read failed; polled instead), unknown_secret, refused (disabled or no push support), invalid, too_large, error.",
	}, []string{"result"})
	if s.cfg.Metrics == nil {
		return c
	}
	if err := s.cfg.Metrics.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
		s.log.Warn("register the connector push counter", "err", err)
		return c
	}
	for _, r := range pushResults() {
		c.WithLabelValues(r)
	}
	return c
}

// connectorPush is POST /api/v1/connectors/push/{secret}: the secret is
// the only credential. lastmile takes the incident's id from the body and
// reads the incident with the connector's own credentials.
func (s *Server) connectorPush(w http.ResponseWriter, r *http.Request) {
	count := s.pushCounter()
	fail := func(result string, err error) {
		count.WithLabelValues(result).Inc()
		s.writeError(w, r, err)
	}
	if s.cfg.Connectors == nil {
		fail("error", apperr.New(apperr.Unavailable, "connectors are not set up on this server"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPushBody+1))
	if err != nil {
		fail("invalid", apperr.WithDetails(apperr.Invalid, "could not read the request body", err.Error()))
		return
	}
	truncated := len(body) > maxPushBody
	if truncated {
		body = body[:maxPushBody]
	}
	ctx, cancel := context.WithTimeout(r.Context(), pushFetchTimeout)
	defer cancel()
	run := connector.NewRunner(s.cfg.Connectors, s.alerts, s.teams, s.log, connector.RunnerOptions{Wake: s.cfg.Wake})
	res, err := run.Push(ctx, r.PathValue("secret"), body)
	if err != nil {
		switch apperr.KindOf(err) {
		case apperr.NotFound:
			// The secret is not logged: it is the credential.
			s.log.Info("push for unknown connector push secret", "remote_addr", r.RemoteAddr, "request_id", requestID(r.Context()))
			fail("unknown_secret", err)
		case apperr.Conflict:
			fail("refused", err)
		case apperr.Invalid:
			if truncated {
				fail("too_large", apperr.New(apperr.TooLarge, "the body is larger than %d KiB and names no incident within them: post the incident trigger's body, or {\"incidentId\": \"…\"}", maxPushBody>>10))
				return
			}
			fail("invalid", err)
		default:
			fail("error", err)
		}
		return
	}
	count.WithLabelValues(res.Status).Inc()
	status := http.StatusOK
	if res.Status == connector.PushQueued {
		status = http.StatusAccepted
	}
	writeJSON(w, status, res)
}

// pushSecretAnswer is a new push secret with its URL, shown only once.
type pushSecretAnswer struct {
	connector.PushInfo
	Secret  string `json:"secret"`
	PushURL string `json:"pushUrl"`
}

// rotateConnectorPushSecret makes (or replaces) the connector's push
// secret and returns its push URL.
func (s *Server) rotateConnectorPushSecret(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, cs, err := s.connectorTeam(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.pushCounter()
	secret, info, err := cs.RotatePushSecret(r.Context(), teamID, r.PathValue("connectorId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, pushSecretAnswer{PushInfo: info, Secret: secret, PushURL: connector.PushURL(s.cfg.BaseURL, secret)})
}

// disableConnectorPush removes the push secret: the push URL stops working.
func (s *Server) disableConnectorPush(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, cs, err := s.connectorTeam(r, p, team.RoleAdmin)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := cs.DisablePush(r.Context(), teamID, r.PathValue("connectorId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// getConnectorPush says whether the connector takes pushes and how they went.
func (s *Server) getConnectorPush(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, cs, err := s.connectorTeam(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info, err := cs.PushInfo(r.Context(), teamID, r.PathValue("connectorId"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}
