package twilio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/lastmile/lastmile/internal/notify"
)

// Voice is the "voice" channel: a call that reads the alert and takes a
// keypress.
type Voice struct{ c *client }

// Name is "voice".
func (v *Voice) Name() string { return "voice" }

// Check asks Twilio whether the credentials and the calling number work.
func (v *Voice) Check(ctx context.Context) error { return v.c.check(ctx) }

// Callback serves Twilio's callbacks: "sms", "voice" and "status".
func (v *Voice) Callback(path string) http.Handler { return v.c.callback(path) }

// maxVoiceURL keeps the call's Url well inside what Twilio takes.
const maxVoiceURL = 3800

// Send places a call and returns the call sid. What the call says travels
// in its Url (Twilio fetches it when the call is answered, and signs the
// request), so nothing needs storing here.
func (v *Voice) Send(ctx context.Context, m notify.Message) (string, error) {
	if v.c.s.FromNumber == "" {
		return "", notify.Permanent(errors.New("voice: calls need fromNumber in the Twilio settings (a Messaging Service cannot place calls)"))
	}
	if v.c.d.BaseURL == "" {
		return "", notify.Permanent(errors.New("voice: calls need the server's public base URL, for Twilio to fetch what the call says"))
	}
	to, err := ValidateAddress("voice", m.Address)
	if err != nil {
		return "", notify.Permanent(fmt.Errorf("voice: %w", err))
	}
	u, err := v.c.voiceURL(m)
	if err != nil {
		return "", notify.Permanent(fmt.Errorf("voice: %w", err))
	}
	form := url.Values{
		"To":                   {to},
		"From":                 {v.c.s.FromNumber},
		"Url":                  {u},
		"Method":               {http.MethodPost},
		"StatusCallback":       {v.c.callbackURL("status")},
		"StatusCallbackMethod": {http.MethodPost},
		"StatusCallbackEvent":  {"answered", "completed"},
		"Timeout":              {"30"},
	}
	id, err := v.c.create(ctx, "Calls.json", form, to)
	if err != nil {
		return "", fmt.Errorf("voice: %w", err)
	}
	return id, nil
}

// script is what a call says, carried in its Url as base64url JSON.
type script struct {
	Title    string `json:"title,omitempty"`
	Severity string `json:"severity,omitempty"`
	Team     string `json:"team,omitempty"`
	Kind     string `json:"kind,omitempty"`
	Code     string `json:"code,omitempty"`
	// Count is the number of alerts of a bundle.
	Count int `json:"count,omitempty"`
	// Actions are the letters of the keys offered: a(cknowledge),
	// c(lose), e(scalate).
	Actions string `json:"actions,omitempty"`
}

func scriptOf(m notify.Message) script {
	sc := script{Title: strings.TrimSpace(m.Title), Severity: severity(m.Severity), Team: strings.TrimSpace(m.TeamName), Kind: m.Kind, Actions: offered(m)}
	switch m.Kind {
	case notify.KindVerify:
		sc = script{Kind: m.Kind, Code: strings.TrimSpace(m.Code)}
	case notify.KindTest:
		sc.Actions, sc.Severity = "", ""
	case notify.KindBundle:
		titles := make([]string, 0, 3)
		for i, a := range m.Bundle {
			if i == 3 {
				titles = append(titles, fmt.Sprintf("and %d more", len(m.Bundle)-3))
				break
			}
			titles = append(titles, strings.TrimSpace(a.Title))
		}
		sc.Count, sc.Title, sc.Severity = len(m.Bundle), strings.Join(titles, ". "), ""
		sc.Actions = strings.ReplaceAll(sc.Actions, "e", "")
	}
	return sc
}

// voiceURL is the URL Twilio fetches when the call is answered.
func (c *client) voiceURL(m notify.Message) (string, error) {
	sc := scriptOf(m)
	sc.Title = cutRunes(sc.Title, 300)
	sc.Team = cutRunes(sc.Team, 60)
	for {
		raw, err := json.Marshal(sc)
		if err != nil {
			return "", fmt.Errorf("encode what the call says: %w", err)
		}
		q := url.Values{"n": {m.NotificationID}, "t": {base64.RawURLEncoding.EncodeToString(raw)}}
		u := c.callbackURL("voice") + "?" + q.Encode()
		if len(u) <= maxVoiceURL {
			return u, nil
		}
		if sc.Title == "" {
			return "", errors.New("the call's URL is too long: shorten the server's base URL")
		}
		sc.Title = cutRunes(sc.Title, len([]rune(sc.Title))/2)
	}
}

func decodeScript(t string) (script, error) {
	var sc script
	raw, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return sc, err
	}
	err = json.Unmarshal(raw, &sc)
	return sc, err
}

func cutRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n]))
}

// keys maps the keypad to actions, as GoAlert and PagerDuty do.
var keys = map[string]struct{ letter, action string }{
	"4": {"a", "acknowledge"},
	"6": {"c", "close"},
	"5": {"e", "escalate"},
}

// intro is what the call says first.
func (sc script) intro() string {
	var b strings.Builder
	team := ""
	if sc.Team != "" {
		team = ", team " + sc.Team
	}
	switch sc.Kind {
	case notify.KindBundle:
		fmt.Fprintf(&b, "%d new alerts from lastmile%s. ", sc.Count, team)
	case "repeat":
		fmt.Fprintf(&b, "Reminder: alert from lastmile%s. ", team)
	case "escalation":
		fmt.Fprintf(&b, "Escalated alert from lastmile%s. ", team)
	case "ack_timeout":
		fmt.Fprintf(&b, "Alert from lastmile%s, not acknowledged yet. ", team)
	default:
		fmt.Fprintf(&b, "Alert from lastmile%s. ", team)
	}
	if sc.Title != "" {
		b.WriteString(strings.TrimRight(sc.Title, ". ") + ". ")
	}
	if sc.Severity != "" {
		b.WriteString("Severity " + sc.Severity + ". ")
	}
	return b.String()
}

// menu names the keys offered.
func (sc script) menu() string {
	all := ""
	if sc.Kind == notify.KindBundle {
		all = " all"
	}
	var opts []string
	for _, k := range []string{"4", "6", "5"} {
		if strings.Contains(sc.Actions, keys[k].letter) {
			opts = append(opts, k+" to "+keys[k].action+all)
		}
	}
	opts = append(opts, "star to repeat")
	if len(opts) == 1 {
		return "Press star to repeat."
	}
	return "Press " + strings.Join(opts[:len(opts)-1], ", ") + ", " + opts[len(opts)-1] + "."
}

// spell reads a code digit by digit.
func spell(code string) string {
	var parts []string
	for _, r := range code {
		parts = append(parts, string(r))
	}
	return strings.Join(parts, ", ")
}
