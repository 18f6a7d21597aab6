package web

import (
	"net/http"
	"strings"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/apperr"
)

// alertActionDone is what each action says when it worked.
var alertActionDone = map[string]string{
	"acknowledge":      "Acknowledged",
	"undo-acknowledge": "Acknowledgement undone",
	"close":            "Closed",
	"undo-close":       "Reopened",
	"escalate":         "Escalation requested",
	"annotate":         "Note added",
}

// alertAction acts on an alert as the REST API does (same service calls,
// same checks), then wakes the engine and the live updates and goes back to
// the page the form was on. A script posting with Accept: application/json
// gets the outcome as JSON and stays on its page.
func (s *Server) alertAction(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	id, action := r.PathValue("id"), r.PathValue("action")
	done, ok := alertActionDone[action]
	if !ok {
		return apperr.New(apperr.Invalid, "unknown action %q: use acknowledge, undo-acknowledge, close, undo-close, escalate or annotate", action)
	}
	actor := alert.UserActor(v.User)
	var status alert.Status
	switch action {
	case "escalate":
		a, err := s.cfg.Alerts.EscalateNow(ctx, id, actor, v.CanSee)
		if err != nil {
			return err
		}
		status = a.Status
	case "annotate":
		if _, err := s.cfg.Alerts.Annotate(ctx, id, actor, strings.TrimSpace(r.PostFormValue("text")), v.CanSee); err != nil {
			return err
		}
	default:
		a, err := s.cfg.Alerts.Transition(ctx, id, action, actor, strings.TrimSpace(r.PostFormValue("note")), v.CanSee)
		if err != nil {
			return err
		}
		status = a.Status
	}
	s.cfg.Wake()
	s.live.poke()
	if wantsJSON(r) {
		// No flash cookie: the script shows the outcome in place.
		writeJSON(w, http.StatusOK, map[string]string{"message": done, "status": string(status)})
		return nil
	}
	back := "/alerts/" + id
	if b := r.PostFormValue("back"); b != "" {
		back = safeNext(b)
	}
	return redirect(w, r, back, done)
}
