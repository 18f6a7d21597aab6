package httpapi

import (
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify/action"
)

// actionPage is the small page behind a notification's action link. GET
// only asks to confirm: mail scanners and link previews fetch links, and
// must not acknowledge alerts by doing so. The form POSTs to the same URL.
var actionPage = template.Must(template.New("action").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">
<title>{{.Heading}} · lastmile</title>
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center;background:#f4f5f7;color:#1d2330}
main{background:#fff;border-radius:12px;padding:2rem;max-width:26rem;width:calc(100% - 2rem);box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin:0 0 .5rem}p{margin:.5rem 0 1.25rem;color:#4a5263}
button{font:inherit;font-weight:600;width:100%;min-height:48px;border:0;border-radius:8px;background:#2452d6;color:#fff;cursor:pointer}
.close button{background:#3b3f4a}.err h1{color:#b42318}
@media (prefers-color-scheme:dark){body{background:#14161b;color:#e8eaef}main{background:#1f232b}p{color:#a9b0bf}}
</style></head>
<body><main class="{{.Class}}">
<h1>{{.Heading}}</h1><p>{{.Text}}</p>
{{if .Confirm}}<form method="post"><button type="submit">{{.Confirm}}</button></form>{{end}}
</main></body></html>`))

type actionView struct {
	Heading, Text, Confirm, Class string
}

var actionLabels = map[string]string{action.Acknowledge: "Acknowledge", action.Close: "Close", action.Escalate: "Escalate"}

func (s *Server) actionForm(w http.ResponseWriter, r *http.Request) {
	if err := s.channelsReady(); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.cfg.Channels.Inbound.Peek(r.Context(), r.PathValue("token"))
	if err != nil {
		// The same status as POST would answer: 403 bad or expired, 409
		// already used, 404 alert gone.
		if apperr.KindOf(err) == apperr.Internal {
			s.log.Error("action link", "err", err)
		}
		s.actionAnswer(w, r, apperr.HTTPStatus(apperr.KindOf(err)), actionView{Heading: "This link does not work", Text: plainError(err), Class: "err"})
		return
	}
	label := actionLabels[c.Action]
	s.actionAnswer(w, r, http.StatusOK, actionView{Heading: label + " this alert?", Text: c.Title, Confirm: label, Class: c.Action})
}

// actionDo performs the action of a link: the confirmation form, an ntfy
// or push notification button, or a script.
func (s *Server) actionDo(w http.ResponseWriter, r *http.Request) {
	if err := s.channelsReady(); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.cfg.Channels.Inbound.Redeem(r.Context(), r.PathValue("token"), "with the link in a notification")
	if wantsJSON(r) {
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"alertId": res.AlertID, "action": res.Action, "message": res.Message})
		return
	}
	if err != nil {
		status := apperr.HTTPStatus(apperr.KindOf(err))
		if apperr.KindOf(err) == apperr.Internal {
			s.log.Error("action link", "err", err)
		}
		s.actionAnswer(w, r, status, actionView{Heading: "Nothing was changed", Text: plainError(err), Class: "err"})
		return
	}
	s.actionAnswer(w, r, http.StatusOK, actionView{Heading: "Done", Text: res.Message})
}

func (s *Server) actionAnswer(w http.ResponseWriter, r *http.Request, status int, v actionView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := actionPage.Execute(w, v); err != nil {
		s.log.Debug("write action page", "err", err)
	}
}

// wantsJSON reports whether the caller asked for JSON rather than a page
// (push service workers and scripts do; ntfy sends no Accept).
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "text/html")
}

// plainError is the part of an error a person may read.
func plainError(err error) string {
	if e, ok := apperr.As(err); ok && e.Kind != apperr.Internal {
		return e.Message
	}
	if errors.Is(err, action.ErrExpired) || errors.Is(err, action.ErrInvalid) || errors.Is(err, action.ErrUsed) {
		return err.Error()
	}
	return "Something went wrong on the server; try again or open the alert in lastmile."
}
