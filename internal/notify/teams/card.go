package teams

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/lastmile/lastmile/internal/notify"
)

// The message envelope Teams webhooks take, and as much of Adaptive Cards
// as lastmile sends.
type envelope struct {
	Type        string       `json:"type"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	ContentType string  `json:"contentType"`
	ContentURL  *string `json:"contentUrl"` // always null
	Content     card    `json:"content"`
}

type card struct {
	Schema  string   `json:"$schema"`
	Type    string   `json:"type"`
	Version string   `json:"version"`
	MSTeams msteams  `json:"msteams"`
	Body    []any    `json:"body"`
	Actions []action `json:"actions,omitempty"`
}

type msteams struct {
	Width string `json:"width"`
}

type textBlock struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Size     string `json:"size,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Color    string `json:"color,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
	Wrap     bool   `json:"wrap"`
}

type container struct {
	Type  string `json:"type"`
	Style string `json:"style,omitempty"`
	Bleed bool   `json:"bleed,omitempty"`
	Items []any  `json:"items"`
}

type factSet struct {
	Type  string `json:"type"`
	Facts []fact `json:"facts"`
}

type fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
	Style string `json:"style,omitempty"`
}

const (
	contentType = "application/vnd.microsoft.card.adaptive"
	schema      = "http://adaptivecards.io/schemas/adaptive-card.json"
	// cardVersion 1.4 shows on every Teams client; 1.5 breaks old ones.
	cardVersion    = "1.4"
	maxTitle       = 200
	maxText        = 4000
	maxBundleLines = 10
)

type severityStyle struct{ label, style, color string }

var severities = map[string]severityStyle{
	"critical": {"Critical", "attention", "Attention"},
	"high":     {"High", "attention", "Attention"},
	"medium":   {"Medium", "warning", "Warning"},
	"low":      {"Low", "accent", "Accent"},
	"info":     {"Info", "emphasis", "Default"},
}

func severityOf(s string) severityStyle {
	if st, ok := severities[strings.ToLower(strings.TrimSpace(s))]; ok {
		return st
	}
	return severities["medium"]
}

var kindLabels = map[string]string{
	"alert":       "New alert",
	"repeat":      "Reminder",
	"escalation":  "Escalated",
	"ack_timeout": "Not acknowledged in time",
}

var actionLabels = map[string]string{"acknowledge": "Acknowledge", "close": "Close", "escalate": "Escalate"}

var actionStyles = map[string]string{"acknowledge": "positive", "close": "destructive"}

// TextBlocks read Markdown: a backslash keeps *, _, [, ] and ` from
// turning alert text into formatting or links.
var escaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, "`", "\\`")

// escape makes s literal in a TextBlock or fact. Markdown needs a blank
// line to break a line.
func escape(s string) string {
	s = escaper.Replace(strings.ReplaceAll(s, "\r\n", "\n"))
	return strings.ReplaceAll(s, "\n", "\n\n")
}

// oneLine is escape for titles.
func oneLine(s string) string {
	return escaper.Replace(strings.Join(strings.Fields(s), " "))
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func titleOr(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

func text(s string) textBlock { return textBlock{Type: "TextBlock", Text: s, Wrap: true} }

func heading(title string, st severityStyle) container {
	return container{Type: "Container", Style: st.style, Bleed: true, Items: []any{
		textBlock{Type: "TextBlock", Text: oneLine(truncate(title, maxTitle)), Size: "Large", Weight: "Bolder", Color: st.color, Wrap: true},
	}}
}

func wrap(body []any, actions []action) envelope {
	return envelope{Type: "message", Attachments: []attachment{{
		ContentType: contentType,
		Content:     card{Schema: schema, Type: "AdaptiveCard", Version: cardVersion, MSTeams: msteams{Width: "Full"}, Body: body, Actions: actions},
	}}}
}

// render turns m into a Teams message.
func render(m notify.Message) envelope {
	st := severityOf(m.Severity)
	var body []any
	switch m.Kind {
	case notify.KindVerify:
		return wrap([]any{text("Your lastmile verification code is **" + escape(m.Code) + "**")}, nil)
	case notify.KindBundle:
		title := fmt.Sprintf("%d new alerts", len(m.Bundle))
		if m.TeamName != "" {
			title += " in " + m.TeamName
		}
		body = append(body, heading(title, severityStyle{style: "emphasis"}))
		var facts []fact
		for i, a := range m.Bundle {
			if i == maxBundleLines {
				body = append(body, factSet{Type: "FactSet", Facts: facts}, text(fmt.Sprintf("…and %d more", len(m.Bundle)-maxBundleLines)))
				facts = nil
				break
			}
			facts = append(facts, fact{Title: severityOf(a.Severity).label, Value: oneLine(truncate(titleOr(a.Title, "Untitled alert"), maxTitle))})
		}
		if len(facts) > 0 {
			body = append(body, factSet{Type: "FactSet", Facts: facts})
		}
	case notify.KindTest:
		body = append(body, heading(titleOr(m.Title, "lastmile test notification"), severityStyle{style: "emphasis"}),
			text(escape(truncate(titleOr(m.Text, "If you can read this, lastmile can reach this Teams channel."), maxText))))
		if m.TeamName != "" {
			body = append(body, factSet{Type: "FactSet", Facts: []fact{{Title: "Team", Value: oneLine(m.TeamName)}}})
		}
	default:
		body = append(body, heading(titleOr(m.Title, "Untitled alert"), st))
		if t := strings.TrimSpace(m.Text); t != "" {
			body = append(body, text(escape(truncate(t, maxText))))
		}
		var facts []fact
		if m.TeamName != "" {
			facts = append(facts, fact{Title: "Team", Value: oneLine(m.TeamName)})
		}
		facts = append(facts, fact{Title: "Severity", Value: st.label})
		kind := kindLabels[m.Kind]
		if kind == "" {
			kind = oneLine(titleOr(m.Kind, "Alert"))
		}
		if m.Round > 0 {
			kind += fmt.Sprintf(" (round %d)", m.Round)
		}
		facts = append(facts, fact{Title: "Kind", Value: kind})
		body = append(body, factSet{Type: "FactSet", Facts: facts})
	}
	var actions []action
	for _, a := range m.Actions {
		label := titleOr(a.Label, actionLabels[a.Name])
		if a.URL == "" || label == "" {
			continue
		}
		actions = append(actions, action{Type: "Action.OpenUrl", Title: label, URL: a.URL, Style: actionStyles[a.Name]})
	}
	if m.AlertURL != "" {
		actions = append(actions, action{Type: "Action.OpenUrl", Title: "Open in lastmile", URL: m.AlertURL})
	}
	return wrap(body, actions)
}

// renderUpdate is the follow-up card saying an alert's status changed.
func renderUpdate(u notify.Update) envelope {
	var s string
	switch u.Status {
	case "acknowledged":
		s = "✅ Acknowledged"
	case "closed":
		s = "🔒 Closed"
	case "new":
		s = "↩️ Re-opened"
	default:
		s = "Changed to " + u.Status
	}
	if u.By != "" {
		s += " by " + u.By
	}
	if !u.At.IsZero() {
		s += " at " + u.At.UTC().Format("15:04") + " UTC"
	}
	line := oneLine(truncate(s+" — "+titleOr(u.Title, "Untitled alert"), maxTitle))
	var actions []action
	if u.AlertURL != "" {
		actions = []action{{Type: "Action.OpenUrl", Title: "Open in lastmile", URL: u.AlertURL}}
	}
	return wrap([]any{text(line)}, actions)
}
