package push

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lastmile/lastmile/internal/notify"
)

// payload is what the service worker receives (event.data.json()) and
// turns into showNotification(title, {body, tag, actions, …}).
type payload struct {
	NotificationID     string   `json:"notificationId"`
	AlertID            string   `json:"alertId,omitempty"`
	Kind               string   `json:"kind"`
	Title              string   `json:"title"`
	Body               string   `json:"body"`
	Severity           string   `json:"severity,omitempty"`
	Team               string   `json:"team,omitempty"`
	URL                string   `json:"url,omitempty"`
	Tag                string   `json:"tag"`
	Actions            []action `json:"actions,omitempty"`
	RequireInteraction bool     `json:"requireInteraction"`
	Renotify           bool     `json:"renotify"`
}

// action is a notification button. URL is the signed single-use link: the
// service worker POSTs it when the button is clicked.
type action struct {
	Action string `json:"action"`
	Title  string `json:"title"`
	URL    string `json:"url"`
}

const ellipsis = "…"

// render turns a message into the payload for its kind.
func render(m notify.Message) payload {
	p := payload{
		NotificationID: m.NotificationID, Kind: m.Kind, Team: m.TeamName,
		RequireInteraction: true, Renotify: true,
	}
	switch m.Kind {
	case notify.KindVerify:
		// Only the code: nothing about alerts, nothing to click.
		p.Kind, p.Team = notify.KindVerify, ""
		p.Title = "lastmile verification code"
		p.Body = "Your lastmile verification code is " + m.Code
		p.Tag = "lastmile-verify"
		p.RequireInteraction = false
		return p
	case notify.KindTest:
		p.Title = orDefault(m.Title, "lastmile test notification")
		p.Body = orDefault(m.Text, "Push notifications from lastmile reach this browser.")
		p.Tag = "lastmile-test"
		p.URL = m.AlertURL
		return p
	case notify.KindBundle:
		p.Title = bundleTitle(len(m.Bundle), m.TeamName)
		lines := make([]string, 0, len(m.Bundle))
		for _, a := range m.Bundle {
			lines = append(lines, "• "+a.Title)
		}
		p.Body = strings.Join(lines, "\n")
		p.Severity = bundleSeverity(m.Bundle)
		p.Tag = "lastmile-bundle-" + m.NotificationID
		p.URL = m.AlertURL
		return p
	}
	p.AlertID, p.Severity, p.URL = m.AlertID, severity(m.Severity), m.AlertURL
	p.Title = kindPrefix(m.Kind) + orDefault(m.Title, "Alert")
	p.Body = m.Text
	// One tag per alert: a repeat replaces the notification on screen
	// (renotify makes it ring again) instead of stacking copies.
	p.Tag = "lastmile-alert-" + m.AlertID
	for _, a := range m.Actions {
		p.Actions = append(p.Actions, action{Action: a.Name, Title: orDefault(a.Label, a.Name), URL: a.URL})
	}
	return p
}

func kindPrefix(kind string) string {
	switch kind {
	case "repeat":
		return "Reminder: "
	case "escalation":
		return "Escalated: "
	case "ack_timeout":
		return "Acknowledged but not closed: "
	}
	return ""
}

func bundleTitle(n int, team string) string {
	t := fmt.Sprintf("%d new alerts", n)
	if n == 1 {
		t = "1 new alert"
	}
	if team != "" {
		t += " in " + team
	}
	return t
}

// severity normalises a severity; anything unknown counts as medium.
func severity(s string) string {
	switch s {
	case "", "info", "low", "medium", "high", "critical":
		return s
	}
	return "medium"
}

var severityRank = map[string]int{"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// bundleSeverity is the highest severity among the bundled alerts; an
// alert without one counts as medium.
func bundleSeverity(refs []notify.AlertRef) string {
	best := ""
	for _, a := range refs {
		s := severity(a.Severity)
		if s == "" {
			s = "medium"
		}
		if best == "" || severityRank[s] > severityRank[best] {
			best = s
		}
	}
	return best
}

// topic names the message at the push service so that a newer message for
// the same alert replaces one not yet delivered: at most 32 characters of
// the base64url alphabet (RFC 8030 §5.4), hence a hash of the alert id.
func topic(m notify.Message) string {
	switch m.Kind {
	case notify.KindVerify, notify.KindTest, notify.KindBundle:
		return ""
	}
	if m.AlertID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("lastmile-alert:" + m.AlertID))
	return base64.RawURLEncoding.EncodeToString(sum[:24]) // 24 bytes = 32 characters
}

// marshal encodes p within limit bytes, shortening the body first and then
// the title, each cut at a character boundary and ended with "…".
func marshal(p payload, limit int) ([]byte, error) {
	b, err := encode(p)
	if err != nil || len(b) <= limit {
		return b, err
	}
	for _, field := range []*string{&p.Body, &p.Title} {
		if b, ok := shorten(&p, field, limit); ok {
			return b, nil
		}
	}
	return nil, errors.New("the notification does not fit in a push message even without its text (action links or ids too long)")
}

// shorten finds the longest cut of *field with which p encodes within
// limit, by bisection: escapes make the encoded length of a cut hard to
// predict. It leaves *field empty when even that does not fit.
func shorten(p *payload, field *string, limit int) ([]byte, bool) {
	full := *field
	fits := func(n int) ([]byte, bool) {
		*field = cut(full, n)
		b, err := encode(*p)
		return b, err == nil && len(b) <= limit
	}
	if _, ok := fits(0); !ok {
		return nil, false
	}
	lo, hi := 0, len(full)-1 // the whole of it did not fit
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if _, ok := fits(mid); ok {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return fits(lo)
}

func encode(p payload) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // \u003c for every < would cost 5 bytes each
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// cut keeps at most n bytes of s, ending at a character boundary, and
// marks the cut with "…"; nothing is left of it when n <= 0.
func cut(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if n <= 0 {
		return ""
	}
	return s[:n] + ellipsis
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
