package web

import (
	"net/http"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/team"
)

// integrationsData is the integrations page: the team's inbound URLs, the
// signed-in user's API keys and the team's outbound webhooks.
type integrationsData struct {
	Team team.Team
	// CanEdit is true for team admins: managers only look.
	CanEdit bool
	// WebhookURL and EventsURL hold the secret only right after it was
	// rotated; otherwise they show its first characters and a mask.
	WebhookURL, EventsURL string
	BaseURL               string
	// Reveal is what was just created and is shown this once.
	Reveal   *integReveal
	Examples []integExample
	Keys     []team.APIKey
	// OutboundOff is true when the server has no outbound webhooks.
	OutboundOff bool
	Outbound    []integWebhook
	EventTypes  []integEventType
}

// integReveal is a secret shown once, with what to do with it.
type integReveal struct {
	Title   string
	Warning string
	Items   []integRevealItem
}

type integRevealItem struct {
	ID, Label, Value string
}

type integExample struct {
	Title, Command string
}

// integCanEdit reports whether the user is an admin of the team.
func integCanEdit(v *view, teamID string) bool {
	return v.HasRole(teamID, team.RoleAdmin)
}

func (s *Server) integrationsPage(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	return s.integrationsRender(w, r, v, tm, nil, "", "")
}

// integrationsRender shows the page; secret and apiKey, when set, were
// just created and appear in the URLs and examples.
func (s *Server) integrationsRender(w http.ResponseWriter, r *http.Request, v *view, tm team.Team, reveal *integReveal, secret, apiKey string) error {
	ctx := r.Context()
	base := strings.TrimSuffix(s.cfg.BaseURL, "/")
	d := integrationsData{Team: tm, CanEdit: integCanEdit(v, tm.ID), BaseURL: base, Reveal: reveal, EventTypes: integEventTypes}
	shown := secret
	if shown == "" {
		shown = tm.SecretPrefix + "…"
	}
	d.WebhookURL, d.EventsURL = base+"/webhook/"+shown, base+"/api/v2/events/"+shown
	d.Examples = integExamples(base, secret, apiKey)
	var err error
	if d.Keys, err = s.cfg.Teams.APIKeys(ctx, v.User.ID); err != nil {
		return err
	}
	d.OutboundOff = s.cfg.Outbound == nil
	if d.CanEdit && !d.OutboundOff {
		if d.Outbound, err = s.integWebhooks(r, tm.ID); err != nil {
			return err
		}
	}
	v.Title, v.Nav = "Integrations · "+tm.Name, "console"
	return s.render(w, v, "integrations", d)
}

// integExamples are the curl commands the page offers; without a fresh
// secret or key they use shell variables the reader fills in.
func integExamples(base, secret, apiKey string) []integExample {
	hook, events := base+"/webhook/$SECRET", base+"/api/v2/events/$SECRET"
	if secret != "" {
		hook, events = base+"/webhook/"+secret, base+"/api/v2/events/"+secret
	}
	key := "$KEY"
	if apiKey != "" {
		key = apiKey
	}
	return []integExample{
		{"Raise an alert (JSON event)", "curl -X POST '" + hook + "' -H 'Content-Type: application/json' \\\n" +
			"  -d '{\"title\": \"Disk full on db1\", \"text\": \"/var is at 98%\", \"X-S4-ExternalID\": \"db1-disk\"}'"},
		{"Close it again (same external id)", "curl -X POST '" + hook + "' -H 'Content-Type: application/json' \\\n" +
			"  -d '{\"X-S4-ExternalID\": \"db1-disk\", \"X-S4-Status\": \"resolved\"}'"},
		{"The SIGNL4 events URL (needs an API key of a team member)", "curl -X POST '" + events + "' -H \"X-S4-Api-Key: " + key + "\" \\\n" +
			"  -H 'X-S4-Status: acknowledged' -H 'X-S4-ExternalID: db1-disk'"},
		{"Call the REST API with an API key", "curl -H \"Authorization: Bearer " + key + "\" '" + base + "/api/v1/alerts?status=new'"},
	}
}

func (s *Server) integrationsRotate(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	secret, err := s.cfg.Teams.RotateSecret(r.Context(), tm.ID)
	if err != nil {
		return err
	}
	if tm, err = s.cfg.Teams.Team(r.Context(), tm.ID); err != nil {
		return err
	}
	s.cfg.Log.Info("team inbound secret rotated", "team_id", tm.ID, "by", v.User.ID)
	base := strings.TrimSuffix(s.cfg.BaseURL, "/")
	rv := &integReveal{Title: "New inbound URLs",
		Warning: "Copy them now: they are shown only this once. The old URLs stopped working; update every sender that used them.",
		Items: []integRevealItem{{"reveal-webhook", "Webhook URL", base + "/webhook/" + secret},
			{"reveal-events", "SIGNL4 events URL (with an API key)", base + "/api/v2/events/" + secret}}}
	return s.integrationsRender(w, r, v, tm, rv, secret, "")
}

func (s *Server) integrationsCreateKey(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len(name) > 100 {
		return apperr.New(apperr.Invalid, "Give the key a name of 1 to 100 characters, for example the system that will use it.")
	}
	k, key, err := s.cfg.Teams.CreateAPIKey(r.Context(), v.User.ID, name)
	if err != nil {
		return err
	}
	s.cfg.Log.Info("api key created", "user_id", v.User.ID, "key_id", k.ID)
	rv := &integReveal{Title: "New API key “" + k.Name + "”",
		Warning: "Copy it now: it is shown only this once. It acts as you, with your roles; revoke it when it is no longer needed.",
		Items:   []integRevealItem{{"reveal-key", "API key", key}}}
	return s.integrationsRender(w, r, v, tm, rv, "", key)
}

func (s *Server) integrationsRevokeKey(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	// Only the user's own keys: the service scopes the revocation to them.
	if err := s.cfg.Teams.RevokeAPIKey(r.Context(), v.User.ID, r.PathValue("keyId")); err != nil {
		return err
	}
	return redirect(w, r, "/teams/"+tm.ID+"/integrations#api-keys", "The API key is revoked; it stopped working.")
}

// integOutboundService returns the outbound webhooks, or says they are
// not set up.
func (s *Server) integOutboundService() (*outbound.Service, error) {
	if s.cfg.Outbound == nil {
		return nil, apperr.New(apperr.Unavailable, "Outbound webhooks are not set up on this server.")
	}
	return s.cfg.Outbound, nil
}
