package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
)

// Server-sent events: the inbox and the alert page hold a stream open and
// re-read their list or timeline when it names a change.

const (
	// sseHeartbeat keeps proxies from closing a quiet stream, notices
	// readers that went away, and re-checks the reader's session and roles.
	sseHeartbeat = 25 * time.Second
	// sseWriteWindow is how long one write may take. Each write moves the
	// deadline on, since the server's WriteTimeout would otherwise end every
	// stream after two minutes.
	sseWriteWindow = time.Minute
)

func (s *Server) inboxStream(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.stream(w, r, v, "")
}

func (s *Server) alertStream(w http.ResponseWriter, r *http.Request, v *view) error {
	a, err := s.visibleAlertFor(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.stream(w, r, v, a.ID)
}

// stream sends an event each time alerts the user may see change (or only
// alertID, if set) until the reader goes, the session ends or the hub stops.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, v *view, alertID string) error {
	sub, err := s.live.subscribe(v.User.ID, alertID, v.TeamIDs())
	switch {
	case errors.Is(err, errTooManyStreams):
		w.Header().Set("Retry-After", "60")
		http.Error(w, "Too many live connections for your account: close some lastmile tabs.", http.StatusTooManyRequests)
		return nil
	case errors.Is(err, errHubStopped):
		http.Error(w, "Live updates have stopped: the server is shutting down.", http.StatusServiceUnavailable)
		return nil
	case err != nil:
		return err
	}
	defer s.live.unsubscribe(sub)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // reverse proxies: pass events on at once
	w.WriteHeader(http.StatusOK)
	send := func(msg string) bool {
		// A network deadline is wall-clock time, not the app's clock.
		if err := rc.SetWriteDeadline(time.Now().Add(sseWriteWindow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		if _, err := io.WriteString(w, msg); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The browser reconnects by itself after retry milliseconds.
	if !send("retry: 5000\n: connected\n\n") {
		return nil
	}
	beat := time.NewTicker(time.Duration(s.live.heartbeat.Load()))
	defer beat.Stop()
	ctx := r.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.live.done:
			return nil
		case <-sub.ready:
			ev, ok := sub.take()
			if !ok {
				continue
			}
			b, err := json.Marshal(ev)
			if err != nil {
				return nil
			}
			if !send("event: change\ndata: " + string(b) + "\n\n") {
				return nil
			}
		case <-beat.C:
			if !s.stillAllowed(ctx, v, sub) {
				send("event: signedout\ndata: {}\n\n")
				return nil
			}
			if !send(": heartbeat\n\n") {
				return nil
			}
		}
	}
}

// stillAllowed re-reads the reader's session, user and roles, so a stream
// does not outlive a sign-out or keep telling of a team the user has left.
// A database hiccup keeps the stream as it is.
func (s *Server) stillAllowed(ctx context.Context, v *view, sub *subscriber) bool {
	if _, err := s.cfg.Sessions.Lookup(ctx, v.Session.ID); err != nil {
		return apperr.KindOf(err) != apperr.Unauthorized
	}
	a, err := s.cfg.Teams.Access(ctx, v.User.ID)
	if err != nil {
		return apperr.KindOf(err) != apperr.NotFound
	}
	v.Access = a
	sub.setTeams(v.TeamIDs())
	return true
}
