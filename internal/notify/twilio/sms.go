package twilio

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/lastmile/lastmile/internal/notify"
)

// SMS is the "sms" channel.
type SMS struct{ c *client }

// Name is "sms".
func (s *SMS) Name() string { return "sms" }

// Check asks Twilio whether the credentials and the sending number work.
func (s *SMS) Check(ctx context.Context) error { return s.c.check(ctx) }

// Callback serves Twilio's callbacks: "sms", "voice" and "status".
func (s *SMS) Callback(path string) http.Handler { return s.c.callback(path) }

// Send sends m as an SMS and returns the message sid.
func (s *SMS) Send(ctx context.Context, m notify.Message) (string, error) {
	to, err := ValidateAddress("sms", m.Address)
	if err != nil {
		return "", notify.Permanent(err)
	}
	form := url.Values{"To": {to}, "Body": {smsBody(m)}}
	if s.c.s.FromNumber != "" {
		form.Set("From", s.c.s.FromNumber)
	}
	if s.c.s.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", s.c.s.MessagingServiceSID)
	}
	if s.c.d.BaseURL != "" {
		form.Set("StatusCallback", s.c.callbackURL("status"))
	}
	id, err := s.c.create(ctx, "Messages.json", form, to)
	if err != nil {
		return "", fmt.Errorf("sms: %w", err)
	}
	return id, nil
}

// smsBody renders m as at most two segments; the reply instructions are
// never cut, the title and text are.
func smsBody(m notify.Message) string {
	title := strings.TrimSpace(m.Title)
	text := strings.TrimSpace(m.Text)
	if text != "" && !strings.ContainsAny(text[len(text)-1:], ".!?") {
		text += "."
	}
	switch m.Kind {
	case notify.KindVerify:
		return fitSMS(piece{text: "Your lastmile verification code is " + strings.TrimSpace(m.Code), fixed: true})
	case notify.KindTest:
		if title == "" {
			title = "SMS from lastmile reach this phone."
		}
		return fitSMS(piece{text: "lastmile test message: ", fixed: true}, piece{text: title}, piece{text: " " + text})
	case notify.KindBundle:
		titles := make([]string, 0, len(m.Bundle))
		for _, a := range m.Bundle {
			titles = append(titles, strings.TrimSpace(a.Title))
		}
		if len(titles) == 0 {
			titles = append(titles, title)
		}
		return fitSMS(
			piece{text: head(m) + fmt.Sprintf("%d new alerts: ", len(titles)), fixed: true},
			piece{text: strings.Join(titles, "; ")},
			piece{text: bundleReplyHint(m), fixed: true})
	}
	if title == "" {
		title = "(no title)"
	}
	sev := "."
	if s := severity(m.Severity); s != "" {
		sev = " (" + s + ")."
	}
	pieces := []piece{
		{text: head(m) + kindLead(m.Kind), fixed: true},
		{text: title},
		{text: sev, fixed: true},
		{text: " " + text},
		{text: replyHint(m), fixed: true},
	}
	// The link to the alert comes only when everything else fits whole.
	if m.AlertURL != "" {
		withURL := append(pieces[:len(pieces):len(pieces)], piece{text: " " + m.AlertURL, fixed: true})
		if fits(withURL...) {
			return fitSMS(withURL...)
		}
	}
	return fitSMS(pieces...)
}

// fits reports whether the pieces make a message of two segments whole.
func fits(pieces ...piece) bool {
	var b strings.Builder
	for _, p := range pieces {
		b.WriteString(gsmNormalize(p.text))
	}
	s := strings.TrimSpace(b.String())
	if isGSM(s) {
		return cost(s, false) <= gsmLimit
	}
	return cost(s, true) <= ucs2Limit
}

// head names lastmile and the team.
func head(m notify.Message) string {
	team := []rune(strings.TrimSpace(m.TeamName))
	if len(team) == 0 {
		return "lastmile: "
	}
	if len(team) > 30 {
		team = append(team[:29], '…')
	}
	return "lastmile [" + string(team) + "]: "
}

func kindLead(kind string) string {
	switch kind {
	case "repeat":
		return "Reminder: "
	case "escalation":
		return "Escalated: "
	case "ack_timeout":
		return "Not acknowledged yet: "
	}
	return ""
}

// severity is the severity to show: "" for none, medium for one lastmile
// does not know.
func severity(s string) string {
	switch s = strings.ToLower(strings.TrimSpace(s)); s {
	case "", "info", "low", "medium", "high", "critical":
		return s
	}
	return "medium"
}

// offered returns the actions the message offers, as the letters of the
// reply codes (a, c, e): those in m.Actions, or all when it lists none.
func offered(m notify.Message) string {
	if len(m.Actions) == 0 {
		return "ace"
	}
	var b strings.Builder
	for _, want := range []struct{ name, letter string }{{"acknowledge", "a"}, {"close", "c"}, {"escalate", "e"}} {
		for _, a := range m.Actions {
			if a.Name == want.name {
				b.WriteString(want.letter)
				break
			}
		}
	}
	return b.String()
}

// replyCode keeps the reply code to what a phone keyboard types easily.
func replyCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, s)
	if len(s) > 8 {
		s = s[:8]
	}
	return s
}

// replyHint tells how to answer by SMS: "<code>a ack" names this alert;
// without a code, "ack" means the latest alert sent to this phone.
func replyHint(m notify.Message) string {
	acts, code := offered(m), replyCode(m.ReplyCode)
	var parts []string
	for _, a := range []struct{ letter, word string }{{"a", "ack"}, {"c", "close"}, {"e", "escalate"}} {
		if !strings.Contains(acts, a.letter) {
			continue
		}
		switch {
		case code != "":
			parts = append(parts, code+a.letter+" "+a.word)
		case a.letter != "e":
			parts = append(parts, a.word)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	if code != "" {
		return " Reply " + strings.Join(parts, ", ")
	}
	return " Reply " + strings.Join(parts, " / ")
}

func bundleReplyHint(m notify.Message) string {
	var parts []string
	acts := offered(m)
	if strings.Contains(acts, "a") {
		parts = append(parts, "ack all")
	}
	if strings.Contains(acts, "c") {
		parts = append(parts, "close all")
	}
	if len(parts) == 0 {
		return ""
	}
	return " Reply " + strings.Join(parts, " / ")
}
