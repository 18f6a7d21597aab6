package ntfy

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lastmile/lastmile/internal/notify"
)

// publish is ntfy's JSON publish body (POST to the server's root URL).
type publish struct {
	Topic    string   `json:"topic"`
	Title    string   `json:"title,omitempty"`
	Message  string   `json:"message"`
	Priority int      `json:"priority,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Click    string   `json:"click,omitempty"`
	Actions  []action `json:"actions,omitempty"`
}

// action is an ntfy action button. An "http" action is performed by the
// subscriber's phone when tapped, so its URL must be reachable from there.
type action struct {
	Action string `json:"action"`
	Label  string `json:"label"`
	URL    string `json:"url"`
	Method string `json:"method,omitempty"`
	Clear  bool   `json:"clear,omitempty"`
}

// maxActions is ntfy's limit of buttons per message.
const maxActions = 3

// maxMessage keeps a message under ntfy's 4096 bytes, past which it turns
// the message into an attachment.
const maxMessage = 4000

// severityTags are emoji short codes ntfy shows before the title.
var severityTags = map[string]string{
	"critical": "rotating_light",
	"high":     "warning",
	"medium":   "large_orange_diamond",
	"low":      "large_blue_diamond",
	"info":     "information_source",
}

var severityRank = map[string]int{"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// severityOf treats an empty or unknown severity as medium.
func severityOf(s string) string {
	s = strings.ToLower(s)
	if _, ok := severityRank[s]; ok {
		return s
	}
	return "medium"
}

// build renders m for topic.
func (c *config) build(topic string, m notify.Message) publish {
	p := publish{Topic: topic, Title: notify.OneLine(m.Title), Click: m.AlertURL}
	sev := severityOf(m.Severity)
	var lines []string
	switch m.Kind {
	case notify.KindVerify:
		return publish{Topic: topic, Title: "lastmile verification", Message: "Your lastmile verification code is " + notify.OneLine(m.Code), Priority: 3, Tags: []string{"key"}}
	case notify.KindTest:
		p.Title, p.Priority, p.Tags = "lastmile test notification", 3, []string{"test_tube"}
		lines = append(lines, "If you can read this, lastmile can reach you on ntfy.")
		if m.Title != "" {
			lines = append(lines, notify.OneLine(m.Title))
		}
		if m.Text != "" {
			lines = append(lines, m.Text)
		}
	case notify.KindBundle:
		top := ""
		for _, a := range m.Bundle {
			s := severityOf(a.Severity)
			if top == "" || severityRank[s] > severityRank[top] {
				top = s
			}
			lines = append(lines, fmt.Sprintf("• [%s] %s", s, notify.OneLine(a.Title)))
		}
		if top != "" {
			sev = top
		}
		p.Title = fmt.Sprintf("%d new alerts", len(m.Bundle))
		if len(m.Bundle) == 1 {
			p.Title = "1 new alert"
		}
		if m.TeamName != "" {
			p.Title += " in Team " + notify.OneLine(m.TeamName)
		}
	default:
		switch m.Kind {
		case "repeat":
			lines = append(lines, "Reminder: still open.")
		case "escalation":
			lines = append(lines, "Escalated to you: nobody has acknowledged it yet.")
		case "ack_timeout":
			lines = append(lines, "Acknowledged, but still not closed in time.")
		}
		if t := strings.TrimSpace(m.Text); t != "" {
			lines = append(lines, t)
		}
		if m.TeamName != "" {
			lines = append(lines, "Team "+notify.OneLine(m.TeamName)+" · "+sev)
		}
	}
	if p.Title == "" {
		p.Title = "(no title)"
	}
	if p.Priority == 0 {
		p.Priority = c.priority[sev]
		p.Tags = []string{severityTags[sev]}
		switch m.Kind {
		case "repeat":
			p.Tags = append(p.Tags, "repeat")
		case "escalation":
			p.Tags = append(p.Tags, "arrow_double_up")
		case "ack_timeout":
			p.Tags = append(p.Tags, "hourglass")
		}
	}
	p.Message = truncate(strings.Join(lines, "\n"), maxMessage)
	if p.Message == "" {
		// ntfy would show "triggered".
		p.Message = p.Title
	}
	for _, a := range m.Actions {
		if a.URL == "" || len(p.Actions) == maxActions {
			continue
		}
		label := a.Label
		if label == "" {
			label = a.Name
		}
		// POST performs the action (GET would only show a confirm page);
		// clear removes the notification once that worked.
		p.Actions = append(p.Actions, action{Action: "http", Label: label, URL: a.URL, Method: "POST", Clear: true})
	}
	if m.AlertURL != "" && len(p.Actions) < maxActions {
		p.Actions = append(p.Actions, action{Action: "view", Label: "Open", URL: m.AlertURL})
	}
	return p
}

// truncate cuts s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
