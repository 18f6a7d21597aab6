package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/team"
)

// integEventType is an outbound event type with the words for it.
type integEventType struct {
	Type  int
	Label string
}

// integEventTypes are the types a webhook can subscribe to, as SIGNL4
// numbers them.
var integEventTypes = []integEventType{
	{outbound.EventCreated, "Alert raised"},
	{outbound.EventStatus, "Alert acknowledged, closed or reopened"},
	{outbound.EventEscalated, "Alert escalated"},
	{outbound.EventAnnotated, "Alert annotated"},
	{outbound.EventDutyStarted, "Duty started"},
	{outbound.EventDutyEnded, "Duty ended"},
	{outbound.EventPunchedIn, "Punched in"},
	{outbound.EventPunchedOut, "Punched out"},
	{outbound.EventTest, "Test event"},
}

func integEventLabel(t int) string {
	for _, e := range integEventTypes {
		if e.Type == t {
			return e.Label
		}
	}
	return "event " + strconv.Itoa(t)
}

// integWebhook is an outbound webhook with its recent deliveries.
type integWebhook struct {
	outbound.Webhook
	// EventNames are the subscribed types in words; empty means all.
	EventNames []string
	Deliveries []integDelivery
}

// Wants reports whether the webhook is subscribed to type t (none listed
// means all), for the checkboxes.
func (w integWebhook) Wants(t int) bool {
	return len(w.Events) == 0 || slices.Contains(w.Events, t)
}

type integDelivery struct {
	outbound.Delivery
	Label string
}

// integRecentDeliveries is how many deliveries each webhook shows.
const integRecentDeliveries = 5

func (s *Server) integWebhooks(r *http.Request, teamID string) ([]integWebhook, error) {
	hs, err := s.cfg.Outbound.List(r.Context(), teamID)
	if err != nil {
		return nil, err
	}
	out := make([]integWebhook, 0, len(hs))
	for _, h := range hs {
		iw := integWebhook{Webhook: h}
		for _, t := range h.Events {
			iw.EventNames = append(iw.EventNames, integEventLabel(t))
		}
		ds, err := s.cfg.Outbound.Deliveries(r.Context(), teamID, h.ID, integRecentDeliveries)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			iw.Deliveries = append(iw.Deliveries, integDelivery{Delivery: d, Label: integEventLabel(d.EventType)})
		}
		out = append(out, iw)
	}
	return out, nil
}

// integFormEvents reads the checked event types; all checked is stored
// as "all", so types added later are sent too.
func integFormEvents(r *http.Request) ([]int, error) {
	var out []int
	for _, v := range r.PostForm["events"] {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, apperr.New(apperr.Invalid, "unknown event type %q", v)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, apperr.New(apperr.Invalid, "Pick at least one event type to send.")
	}
	if len(out) == len(integEventTypes) {
		return []int{}, nil
	}
	return out, nil
}

func (s *Server) integrationsCreateOutbound(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	ob, err := s.integOutboundService()
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return apperr.New(apperr.Invalid, "the form could not be read: %v", err)
	}
	events, err := integFormEvents(r)
	if err != nil {
		return err
	}
	h, secret, err := ob.Create(r.Context(), tm.ID, strings.TrimSpace(r.PostFormValue("url")), events)
	if err != nil {
		return err
	}
	s.cfg.Log.Info("outbound webhook created", "team_id", tm.ID, "webhook_id", h.ID, "by", v.User.ID)
	return s.integrationsRender(w, r, v, tm, integSigningReveal("New outbound webhook to "+h.URL, secret), "", "")
}

func integSigningReveal(title, secret string) *integReveal {
	return &integReveal{Title: title,
		Warning: "Copy the signing secret now: it is shown only this once. Your receiver uses it to verify each request's signature.",
		Items:   []integRevealItem{{"reveal-signing", "Signing secret", secret}}}
}

// integrationsOutboundAction turns a webhook on or off, changes its
// events, rotates its secret, sends a test event or deletes it.
func (s *Server) integrationsOutboundAction(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	ob, err := s.integOutboundService()
	if err != nil {
		return err
	}
	ctx, id := r.Context(), r.PathValue("webhookId")
	back := "/teams/" + tm.ID + "/integrations#outbound"
	switch r.PathValue("action") {
	case "enable", "disable":
		on := r.PathValue("action") == "enable"
		if _, err := ob.Update(ctx, tm.ID, id, &on, nil); err != nil {
			return err
		}
		if on {
			return redirect(w, r, back, "The webhook is on: new events are sent to it.")
		}
		return redirect(w, r, back, "The webhook is off: no events are sent to it until it is turned on again.")
	case "events":
		if err := r.ParseForm(); err != nil {
			return apperr.New(apperr.Invalid, "the form could not be read: %v", err)
		}
		events, err := integFormEvents(r)
		if err != nil {
			return err
		}
		if _, err := ob.Update(ctx, tm.ID, id, nil, &events); err != nil {
			return err
		}
		return redirect(w, r, back, "Saved the event types.")
	case "rotate-secret":
		h, err := ob.Get(ctx, tm.ID, id)
		if err != nil {
			return err
		}
		secret, err := ob.RotateSecret(ctx, tm.ID, id)
		if err != nil {
			return err
		}
		return s.integrationsRender(w, r, v, tm, integSigningReveal("New signing secret for "+h.URL, secret), "", "")
	case "test":
		if _, err := ob.SendTest(ctx, tm.ID, id); err != nil {
			return err
		}
		return redirect(w, r, back, "A test event is on its way; its delivery shows below in a moment (reload to see it).")
	case "delete":
		if err := ob.Delete(ctx, tm.ID, id); err != nil {
			return err
		}
		return redirect(w, r, back, "The webhook is deleted.")
	}
	return notFound()
}
