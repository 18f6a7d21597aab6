package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/settings"
	"github.com/lastmile/lastmile/internal/store"
)

// channelsData is the administrators' page of channel providers.
type channelsData struct {
	// Off is true when the server has no channel settings.
	Off   bool
	Cards []chanCard
}

// chanCard is one provider: its state, its settings as JSON (secrets
// masked) and, after a refused save, what was typed and why it was refused.
type chanCard struct {
	settings.View
	JSON string
	// Error is why the last save was refused; Refused offers to save anyway.
	Error   string
	Refused bool
	Help    chanHelp
}

// chanHelp is a provider's short help, an example of its settings and
// the page of the documentation that tells the rest.
type chanHelp struct {
	Text, Example, Doc string
}

// chanHelps say what each provider's settings are; the full story is in
// docs/channels/<name>.md.
var chanHelps = map[string]chanHelp{
	"push": {"Web Push to browsers and the installed app; it works with no settings. subject is the contact push services use (a mailto: or https: URI; Apple needs one when this server is not on https), ttlSeconds how long an offline browser's message is kept (default 86400), urgency is for alerts below high severity (very-low, low, normal, high).",
		`{"subject": "mailto:ops@example.com"}`, "docs/channels/push.md"},
	"ntfy": {"An ntfy server (default https://ntfy.sh, whose topics are public). token (tk_…) or username and password for a protected server; priority maps severities (critical, high, medium, low, info) to ntfy priorities 1-5.",
		`{"serverUrl": "https://ntfy.example.com", "token": "tk_..."}`, "docs/channels/ntfy.md"},
	"twilio": {"SMS and voice calls through Twilio. accountSid and authToken from the Twilio console; fromNumber in +E.164 form (voice needs it), or messagingServiceSid for SMS; voiceLanguage and voiceName choose the voice.",
		`{"accountSid": "AC...", "authToken": "...", "fromNumber": "+15551234567"}`, "docs/channels/twilio.md"},
	"email": {"Email through an SMTP server. host, port, security (starttls, tls or none), username and password, from; caPem and tlsServerName for relays with an internal CA; allowPlaintext for security none to a host that is not loopback.",
		`{"host": "smtp.example.com", "port": 587, "security": "starttls", "username": "lastmile", "password": "...", "from": "lastmile <alerts@example.com>"}`, "docs/channels/email.md"},
	"slack": {"Slack incoming webhooks need no settings. botToken (xoxb-…) posts to channel:C… addresses and updates messages when someone acts; signingSecret lets the message buttons act in place.",
		`{"botToken": "xoxb-...", "signingSecret": "..."}`, "docs/channels/slack.md"},
	"teams":   {"Microsoft Teams needs no settings: members give the URL of a Teams Workflows webhook as their address.", `{}`, "docs/channels/teams.md"},
	"webhook": {"The webhook channel needs no settings: members give an https URL as their address; requests are signed with this server's key.", `{}`, "docs/webhook.md"},
}

func (s *Server) channelsPage(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.channelsRender(w, r, v, http.StatusOK, "", nil)
}

// channelsRender shows every provider; failed, when set, is the card of a
// refused save, shown with what was typed.
func (s *Server) channelsRender(w http.ResponseWriter, r *http.Request, v *view, status int, provider string, failed *chanCard) error {
	v.Title, v.Nav = "Channels", "admin"
	d := channelsData{Off: s.cfg.Channels == nil}
	if !d.Off {
		views, err := s.cfg.Channels.List(r.Context())
		if err != nil {
			return err
		}
		for _, pv := range views {
			c := chanCard{View: pv, JSON: chanPretty(pv.Settings), Help: chanHelps[pv.Provider]}
			if c.Help.Doc == "" {
				c.Help.Doc = "docs/channels.md"
			}
			if pv.Provider == provider && failed != nil {
				c.JSON, c.Error, c.Refused = failed.JSON, failed.Error, failed.Refused
				c.Enabled = failed.Enabled
			}
			d.Cards = append(d.Cards, c)
		}
	}
	v.Data = d
	s.renderStatus(w, v, status, "admin_channels")
	return nil
}

func chanPretty(raw json.RawMessage) string {
	var buf bytes.Buffer
	if len(raw) == 0 || json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

// chanParse checks the typed settings are a JSON object and says where
// they are not.
func chanParse(text string) (json.RawMessage, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return json.RawMessage("{}"), nil
	}
	var m map[string]any
	err := json.Unmarshal([]byte(text), &m)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := chanPosition(text, se.Offset)
		return nil, apperr.New(apperr.Invalid, "The settings are not valid JSON: %v (line %d, column %d). Write them as an object, for example {\"name\": \"value\"}.", se, line, col)
	case errors.As(err, &te) || (err == nil && m == nil):
		return nil, apperr.New(apperr.Invalid, "The settings must be a JSON object in braces, for example {\"name\": \"value\"}.")
	case err != nil:
		return nil, apperr.New(apperr.Invalid, "The settings are not valid JSON: %v.", err)
	}
	return json.RawMessage(text), nil
}

// chanPosition turns the offset of a JSON syntax error (the bytes read
// up to and including the wrong one) into a line and column, from 1.
func chanPosition(text string, off int64) (line, col int) {
	off = min(max(off-1, 0), int64(len(text)))
	before := text[:off]
	line = strings.Count(before, "\n") + 1
	col = len(before) - strings.LastIndex(before, "\n")
	return line, col
}

func (s *Server) chanService() (*settings.Service, error) {
	if s.cfg.Channels == nil {
		return nil, apperr.New(apperr.Unavailable, "Channels are not set up on this server.")
	}
	return s.cfg.Channels, nil
}

func (s *Server) channelsSave(w http.ResponseWriter, r *http.Request, v *view) error {
	set, err := s.chanService()
	if err != nil {
		return err
	}
	name := r.PathValue("provider")
	if !slices.Contains(set.Providers(), name) {
		return notFound()
	}
	text, enabled, force := r.PostFormValue("settings"), r.PostFormValue("enabled") != "", r.PostFormValue("force") != ""
	failed := &chanCard{JSON: text}
	failed.Enabled = enabled
	raw, err := chanParse(text)
	if err != nil {
		failed.Error = connErrText(err)
		return s.channelsRender(w, r, v, http.StatusBadRequest, name, failed)
	}
	pv, err := set.Put(r.Context(), name, raw, enabled, force, v.User.Email)
	if err != nil {
		if apperr.KindOf(err) != apperr.Invalid {
			return err
		}
		failed.Error, failed.Refused = connErrText(err), true
		return s.channelsRender(w, r, v, http.StatusBadRequest, name, failed)
	}
	s.cfg.Log.Info("channel settings saved", "provider", name, "by", v.User.ID, "forced", force, "status", pv.Status)
	back := "/admin/channels#chan-" + name
	if pv.Status == "failing" {
		setFlash(w, "error", "Saved anyway; "+name+" shows as failing: "+pv.LastError)
		return redirect(w, r, back, "")
	}
	if !pv.Enabled {
		return redirect(w, r, back, "Saved; "+name+" is turned off, its messages go to the log.")
	}
	return redirect(w, r, back, "Saved the "+name+" settings.")
}

func (s *Server) channelsCheck(w http.ResponseWriter, r *http.Request, v *view) error {
	set, err := s.chanService()
	if err != nil {
		return err
	}
	name := r.PathValue("provider")
	pv, err := set.Check(r.Context(), name)
	if err != nil {
		return err
	}
	back := "/admin/channels#chan-" + name
	if pv.Status == "failing" {
		setFlash(w, "error", name+" failed the check: "+pv.LastError)
		return redirect(w, r, back, "")
	}
	return redirect(w, r, back, name+" passed the check.")
}

// channelsTest sends a test notification, to the address typed or to the
// administrator's own address on the channel (as the REST API does).
func (s *Server) channelsTest(w http.ResponseWriter, r *http.Request, v *view) error {
	set, err := s.chanService()
	if err != nil {
		return err
	}
	ctx := r.Context()
	pv, err := set.Get(ctx, r.PathValue("provider"))
	if err != nil {
		return err
	}
	channel, addr := strings.TrimSpace(r.PostFormValue("channel")), strings.TrimSpace(r.PostFormValue("address"))
	if channel == "" {
		channel = pv.Channels[0]
	}
	if !slices.Contains(pv.Channels, channel) {
		return apperr.New(apperr.Invalid, "%s serves the channels %s, not %q", pv.Provider, strings.Join(pv.Channels, ", "), channel)
	}
	if addr == "" {
		cms, err := s.cfg.Teams.ContactMethods(ctx, v.User.ID)
		if err != nil {
			return err
		}
		for _, c := range cms {
			if c.Channel == channel {
				addr = c.Address
				break
			}
		}
		if addr == "" {
			return apperr.New(apperr.Invalid, "You have no %s address in your profile: type the address to send the test to.", channel)
		}
	}
	if addr, err = set.ValidateAddress(channel, addr); err != nil {
		return err
	}
	_, err = set.Send(ctx, notify.Message{Channel: channel, Address: addr, Kind: notify.KindTest, UserID: v.User.ID,
		NotificationID: "test-" + store.NewID(), Title: "lastmile test notification",
		Text:     "This is a test from lastmile, sent by " + v.User.Email + ". If you can read it, the " + channel + " channel works.",
		Severity: "info"})
	if err != nil {
		return err
	}
	return redirect(w, r, "/admin/channels#chan-"+pv.Provider, "Sent a test "+channel+" message to "+addr+".")
}
