package httpapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/team"
)

// keptHeaders are the request headers stored with an event: enough to debug
// a sender, never its credentials.
var keptHeaders = []string{"Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For", "X-S4-Service", "X-S4-Location",
	"X-S4-AlertingScenario", "X-S4-ExternalID", "X-S4-Status", "X-S4-Filtering", "X-S4-SourceSystem", "X-S4-Severity"}

// rejectedBodyKeep bounds the body kept with a rejected event.
const rejectedBodyKeep = 64 << 10

// webhook is SIGNL4's POST /webhook/{teamSecret}: the secret is the only
// credential.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	t, err := s.teams.CachedTeamBySecret(r.Context(), r.PathValue("secret"))
	if err != nil {
		s.unknownSecret(w, r, err)
		return
	}
	s.ingest(w, r, t, "webhook", nil)
}

// eventsV2 is SIGNL4's POST /api/v2/events/{teamSecret}, which also needs an
// API key of someone in the team.
func (s *Server) eventsV2(w http.ResponseWriter, r *http.Request) {
	t, err := s.teams.CachedTeamBySecret(r.Context(), r.PathValue("secret"))
	if err != nil {
		s.unknownSecret(w, r, err)
		return
	}
	s.ingest(w, r, t, "api", s.checkEventsKey(r, t))
}

// checkEventsKey checks the API key of /api/v2/events: it must belong to a
// member of the team or an administrator.
func (s *Server) checkEventsKey(r *http.Request, t team.Team) error {
	key := apiKeyFrom(r)
	if key == "" {
		return apperr.New(apperr.Unauthorized, "missing api key: send the X-S4-Api-Key header")
	}
	p, err := s.authenticate(r.Context(), key)
	if err != nil {
		return err
	}
	if !p.CanSee(t.ID) {
		return apperr.New(apperr.Forbidden, "the api key's user is neither a member of this team nor an administrator")
	}
	return nil
}

func (s *Server) unknownSecret(w http.ResponseWriter, r *http.Request, err error) {
	if apperr.KindOf(err) != apperr.NotFound {
		s.writeError(w, r, err)
		return
	}
	// Not stored: without a team there is no one to show it to, and storing
	// it would let anyone fill the database.
	s.log.Info("inbound event for unknown team secret", "remote_addr", r.RemoteAddr, "request_id", requestID(r.Context()))
	s.writeError(w, r, apperr.WithDetails(apperr.NotFound, "unknown team secret", "no team has this inbound secret; check the URL"))
}

// ingest reads, parses, stores and applies one inbound event. The event row
// is committed before any answer, so a 201 is a promise kept, and a refused
// request can be inspected later. authErr, if set, refuses the request.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request, t team.Team, source string, authErr error) {
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	raw := alert.Raw{Source: source, RemoteAddr: r.RemoteAddr, ContentType: r.Header.Get("Content-Type"), Query: r.URL.RawQuery, Headers: map[string]string{}, Body: body}
	for _, h := range keptHeaders {
		if v := r.Header.Get(h); v != "" {
			raw.Headers[h] = v
		}
	}
	in := alert.Inbound{Team: t, Raw: raw}
	refuse := authErr
	if refuse == nil && readErr != nil {
		var mbe *http.MaxBytesError
		if errors.As(readErr, &mbe) {
			refuse = apperr.New(apperr.TooLarge, "request body is larger than %d bytes", s.cfg.MaxBodyBytes)
		} else {
			refuse = apperr.WithDetails(apperr.Invalid, "could not read the request body", readErr.Error())
		}
	}
	if refuse == nil {
		b, err := ingest.ParseBody(raw.ContentType, body, s.cfg.Limits)
		if err != nil {
			refuse = bodyError(err)
		} else {
			ev := ingest.Interpret(b, ingest.MappingFromQuery(r.URL.Query()), r.Header)
			in.Event, in.Attachments = &ev, b.Attachments
		}
	}
	if refuse != nil {
		if len(in.Raw.Body) > rejectedBodyKeep {
			in.Raw.Body, in.Raw.BodyTruncated = in.Raw.Body[:rejectedBodyKeep], true
		}
		in.Reject = refuse.Error()
	}
	out, err := s.alerts.Ingest(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.events.WithLabelValues(source, out.Status).Inc()
	if out.Status == alert.EventCreated {
		s.cfg.Wake()
	}
	if refuse != nil {
		s.writeError(w, r, refuse)
		return
	}
	w.Header().Set("X-Lastmile-Event-Status", out.Status)
	if out.AlertID != "" {
		w.Header().Set("X-Lastmile-Alert-Id", out.AlertID)
	}
	writeJSON(w, http.StatusCreated, map[string]string{"eventId": out.EventID})
}

func bodyError(err error) error {
	var be *ingest.Error
	if !errors.As(err, &be) {
		return fmt.Errorf("parse body: %w", err)
	}
	switch be.Kind {
	case ingest.UnsupportedType:
		return apperr.WithDetails(apperr.Unsupported, be.Message, be.Details)
	case ingest.PartTooLarge:
		return apperr.WithDetails(apperr.TooLarge, be.Message, be.Details)
	}
	return apperr.WithDetails(apperr.Invalid, be.Message, be.Details)
}
