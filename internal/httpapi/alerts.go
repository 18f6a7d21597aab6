package httpapi

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/apperr"
)

// alertFilter reads the list filters from the query string.
func alertFilter(q url.Values, p *principal) (alert.Filter, error) {
	f := alert.Filter{TeamIDs: p.TeamIDs(), ExternalID: q.Get("externalId"), Search: q.Get("q"), Cursor: q.Get("cursor")}
	if teams := q["team"]; len(teams) > 0 {
		for _, t := range teams {
			if !p.CanSee(t) {
				return f, apperr.New(apperr.NotFound, "team %s not found", t)
			}
		}
		f.TeamIDs = teams
	}
	for _, st := range strings.Split(q.Get("status"), ",") {
		if st = strings.TrimSpace(st); st != "" {
			f.Statuses = append(f.Statuses, alert.Status(st))
		}
	}
	var err error
	if f.Since, err = parseTime(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = parseTime(q, "until"); err != nil {
		return f, err
	}
	if f.Limit, err = parseLimit(q); err != nil {
		return f, err
	}
	return f, nil
}

func parseTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, apperr.New(apperr.Invalid, "%s %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", name, v)
	}
	return t, nil
}

func parseLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > alert.MaxPage {
		return 0, apperr.New(apperr.Invalid, "limit %q must be a number from 1 to %d", v, alert.MaxPage)
	}
	return n, nil
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, p *principal) {
	f, err := alertFilter(r.URL.Query(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, next, err := s.alerts.List(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[alert.Alert]{Items: items, NextCursor: next})
}

// visibleAlert returns the alert if the caller may see it; others' alerts
// answer 404 so that their existence does not leak.
func (s *Server) visibleAlert(r *http.Request, p *principal) (alert.Alert, error) {
	a, err := s.alerts.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return alert.Alert{}, err
	}
	if !p.CanSee(a.TeamID) {
		return alert.Alert{}, apperr.New(apperr.NotFound, "alert %s not found", a.ID)
	}
	return a, nil
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request, p *principal) {
	a, err := s.visibleAlert(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) alertTimeline(w http.ResponseWriter, r *http.Request, p *principal) {
	a, err := s.visibleAlert(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tl, err := s.alerts.Timeline(r.Context(), a.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[alert.TimelineEntry]{Items: tl})
}

// noteRequest is the optional body of a status action.
type noteRequest struct {
	Note string `json:"note"`
}

// optionalNote reads {"note": "..."} if the request has a body.
func optionalNote(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.ContentLength == 0 {
		return "", nil
	}
	var req noteRequest
	if err := decode(w, r, &req); err != nil {
		if e, ok := apperr.As(err); ok && strings.HasPrefix(e.Message, "request body is empty") {
			return "", nil
		}
		return "", err
	}
	return req.Note, nil
}

func (s *Server) transition(action string) func(http.ResponseWriter, *http.Request, *principal) {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		note, err := optionalNote(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		a, err := s.alerts.Transition(r.Context(), r.PathValue("id"), action, alert.UserActor(p.User), note, p.CanSee)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.cfg.Wake()
		writeJSON(w, http.StatusOK, a)
	}
}

func (s *Server) bulk(action string) func(http.ResponseWriter, *http.Request, *principal) {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		var req struct {
			IDs  []string `json:"ids"`
			Note string   `json:"note"`
		}
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(req.IDs) == 0 || len(req.IDs) > alert.MaxPage {
			s.writeError(w, r, apperr.New(apperr.Invalid, "ids must list 1 to %d alert ids", alert.MaxPage))
			return
		}
		res, err := s.alerts.Bulk(r.Context(), req.IDs, action, alert.UserActor(p.User), req.Note, p.CanSee)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page[alert.BulkResult]{Items: res})
	}
}

func (s *Server) escalateNow(w http.ResponseWriter, r *http.Request, p *principal) {
	a, err := s.alerts.EscalateNow(r.Context(), r.PathValue("id"), alert.UserActor(p.User), p.CanSee)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.cfg.Wake()
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) annotate(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Text string `json:"text"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.alerts.Annotate(r.Context(), r.PathValue("id"), alert.UserActor(p.User), strings.TrimSpace(req.Text), p.CanSee)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

func (s *Server) attachment(w http.ResponseWriter, r *http.Request, p *principal) {
	a, err := s.visibleAlert(r, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info, _, data, err := s.alerts.Attachment(r.Context(), r.PathValue("attachmentId"))
	if err == nil && info.AlertID != a.ID {
		err = apperr.New(apperr.NotFound, "attachment %s not found on this alert", r.PathValue("attachmentId"))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	serveAttachment(w, info, data)
}

// eventAttachment serves a file sent with an event, including events that
// opened no alert (filtered or discarded).
func (s *Server) eventAttachment(w http.ResponseWriter, r *http.Request, p *principal) {
	info, teamID, data, err := s.alerts.Attachment(r.Context(), r.PathValue("attachmentId"))
	if err == nil && (info.EventID != r.PathValue("id") || !p.CanSee(teamID)) {
		err = apperr.New(apperr.NotFound, "attachment %s not found on this event", r.PathValue("attachmentId"))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	serveAttachment(w, info, data)
}

func serveAttachment(w http.ResponseWriter, info alert.AttachmentInfo, data []byte) {
	// Stored files come from outside: never let a browser run them.
	w.Header().Set("Content-Type", info.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": info.Name}))
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.Write(data)
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	f := alert.EventFilter{TeamIDs: p.TeamIDs(), Status: q.Get("status"), AlertID: q.Get("alertId"), Cursor: q.Get("cursor")}
	if t := q.Get("team"); t != "" {
		if !p.CanSee(t) {
			s.writeError(w, r, apperr.New(apperr.NotFound, "team %s not found", t))
			return
		}
		f.TeamIDs = []string{t}
	}
	var err error
	if f.Limit, err = parseLimit(q); err != nil {
		s.writeError(w, r, err)
		return
	}
	items, next, err := s.alerts.Events(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[alert.Event]{Items: items, NextCursor: next})
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request, p *principal) {
	e, err := s.alerts.Event(r.Context(), r.PathValue("id"))
	if err == nil && !p.CanSee(e.TeamID) {
		err = apperr.New(apperr.NotFound, "event %s not found", e.ID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}
