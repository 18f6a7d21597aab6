package slack

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lastmile/lastmile/internal/notify"
)

// Block Kit, as much of it as lastmile sends.
type textObj struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Emoji    bool   `json:"emoji,omitempty"`
	Verbatim bool   `json:"verbatim,omitempty"`
}

type block struct {
	Type     string   `json:"type"`
	BlockID  string   `json:"block_id,omitempty"`
	Text     *textObj `json:"text,omitempty"`
	Elements []any    `json:"elements,omitempty"`
}

type button struct {
	Type     string   `json:"type"`
	ActionID string   `json:"action_id"`
	Text     *textObj `json:"text"`
	Value    string   `json:"value,omitempty"`
	URL      string   `json:"url,omitempty"`
	Style    string   `json:"style,omitempty"`
	Confirm  *confirm `json:"confirm,omitempty"`
}

type confirm struct {
	Title   *textObj `json:"title"`
	Text    *textObj `json:"text"`
	Confirm *textObj `json:"confirm"`
	Deny    *textObj `json:"deny"`
	Style   string   `json:"style,omitempty"`
}

// message is a chat.postMessage or chat.update body, an incoming webhook
// body, or a response_url body: the same fields serve all of them.
type message struct {
	Channel         string `json:"channel,omitempty"`
	TS              string `json:"ts,omitempty"`
	Text            string `json:"text"`
	Blocks          []any  `json:"blocks,omitempty"`
	ResponseType    string `json:"response_type,omitempty"`
	ReplaceOriginal *bool  `json:"replace_original,omitempty"`
	UnfurlLinks     *bool  `json:"unfurl_links,omitempty"`
	UnfurlMedia     *bool  `json:"unfurl_media,omitempty"`
}

// Slack's limits on the fields lastmile fills.
const (
	maxHeader      = 150
	maxSection     = 3000
	maxFallback    = 300
	maxButtonText  = 75
	maxButtonValue = 2000
	maxBundleLines = 10
)

// actionPrefix starts the action_id of every button lastmile renders; the
// ones that also carry a value are redeemed when clicked.
const actionPrefix = "lastmile_"

// statusBlockPrefix starts the block_id of the status line added when an
// alert changes, so a later change replaces it.
const statusBlockPrefix = "lastmile_status"

type severityStyle struct{ label, emoji string }

var severities = map[string]severityStyle{
	"critical": {"Critical", ":rotating_light:"},
	"high":     {"High", ":red_circle:"},
	"medium":   {"Medium", ":large_orange_circle:"},
	"low":      {"Low", ":large_yellow_circle:"},
	"info":     {"Info", ":large_blue_circle:"},
}

// severityOf returns the known severity s stands for: unknown and empty
// ones count as medium.
func severityOf(s string) (string, severityStyle) {
	s = strings.ToLower(strings.TrimSpace(s))
	if st, ok := severities[s]; ok {
		return s, st
	}
	return "medium", severities["medium"]
}

var kindLabels = map[string]string{
	"alert":       "New alert",
	"repeat":      "Reminder",
	"escalation":  "Escalated",
	"ack_timeout": "Not acknowledged in time",
}

var actionLabels = map[string]string{"acknowledge": "Acknowledge", "close": "Close", "escalate": "Escalate"}

// escape makes text safe inside mrkdwn: & < and > are the only characters
// Slack reserves, and < is what starts links and @channel mentions.
// Formatting characters (*bold*, _italic_) keep their meaning.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escape(s string) string { return escaper.Replace(s) }

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func plain(s string) *textObj  { return &textObj{Type: "plain_text", Text: s, Emoji: true} }
func mrkdwn(s string) *textObj { return &textObj{Type: "mrkdwn", Text: s, Verbatim: true} }

func header(title string) block {
	return block{Type: "header", Text: plain(truncate(title, maxHeader))}
}

func section(md string) block {
	return block{Type: "section", Text: mrkdwn(truncate(md, maxSection))}
}

func contextBlock(id, md string) block {
	return block{Type: "context", BlockID: id, Elements: []any{mrkdwn(truncate(md, maxSection))}}
}

func titleOr(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

// render turns m into a Slack message. Buttons carry action tokens only
// when clicks can be verified (interactive); otherwise they link to
// lastmile's confirm page.
func render(m notify.Message, interactive bool) message {
	sev, style := severityOf(m.Severity)
	team := ""
	if m.TeamName != "" {
		team = " — " + m.TeamName
	}
	var out message
	switch m.Kind {
	case notify.KindVerify:
		out.Text = "Your lastmile verification code is " + escape(m.Code)
		out.Blocks = []any{section("Your lastmile verification code is *" + escape(m.Code) + "*")}
		return out
	case notify.KindBundle:
		title := fmt.Sprintf("%d new alerts", len(m.Bundle))
		if m.TeamName != "" {
			title += " in " + m.TeamName
		}
		var lines []string
		for i, a := range m.Bundle {
			if i == maxBundleLines {
				lines = append(lines, fmt.Sprintf("…and %d more", len(m.Bundle)-maxBundleLines))
				break
			}
			_, st := severityOf(a.Severity)
			lines = append(lines, "• "+st.emoji+" "+escape(titleOr(a.Title, "Untitled alert")))
		}
		out.Text = escape(title)
		out.Blocks = []any{header(title)}
		if len(lines) > 0 {
			out.Blocks = append(out.Blocks, section(strings.Join(lines, "\n")))
		}
	case notify.KindTest:
		title := titleOr(m.Title, "lastmile test notification")
		text := titleOr(m.Text, "If you can read this, lastmile can reach this Slack destination.")
		out.Text = "lastmile test: " + escape(title)
		out.Blocks = []any{header(title), section(escape(text)), contextBlock("", "Sent by an administrator to check this address"+escape(team))}
	default:
		title := titleOr(m.Title, "Untitled alert")
		out.Text = truncate("["+sev+"] "+escape(title)+escape(team), maxFallback)
		md := style.emoji + " *" + style.label + "*"
		if t := strings.TrimSpace(m.Text); t != "" {
			md += "\n" + escape(t)
		}
		var ctx []string
		if m.TeamName != "" {
			ctx = append(ctx, "Team: "+escape(m.TeamName))
		}
		if l, ok := kindLabels[m.Kind]; ok {
			ctx = append(ctx, l)
		} else if m.Kind != "" {
			ctx = append(ctx, escape(m.Kind))
		}
		if m.Round > 0 {
			ctx = append(ctx, fmt.Sprintf("round %d", m.Round))
		}
		out.Blocks = []any{header(title), section(md)}
		if len(ctx) > 0 {
			out.Blocks = append(out.Blocks, contextBlock("", strings.Join(ctx, " · ")))
		}
	}
	if b, ok := actionsBlock(m, interactive); ok {
		out.Blocks = append(out.Blocks, b)
	}
	return out
}

func actionsBlock(m notify.Message, interactive bool) (block, bool) {
	var els []any
	for _, a := range m.Actions {
		label := titleOr(a.Label, actionLabels[a.Name])
		if label == "" || a.Name == "" {
			continue
		}
		b := button{Type: "button", Text: plain(truncate(label, maxButtonText))}
		switch a.Name {
		case "acknowledge":
			b.Style = "primary"
		case "close":
			b.Style = "danger"
		}
		switch {
		case interactive && a.Token != "" && len(a.Token) <= maxButtonValue:
			b.ActionID, b.Value = actionPrefix+a.Name, a.Token
			if a.Name == "close" {
				what := "Closing ends this alert for everyone"
				if m.TeamName != "" {
					what += " in " + m.TeamName
				}
				b.Confirm = &confirm{Title: plain("Close this alert?"), Text: plain(truncate(what+".", 300)),
					Confirm: plain("Close"), Deny: plain("Cancel"), Style: "danger"}
			}
		case a.URL != "":
			// lastmile's confirm page asks again, so no Slack dialog here.
			b.ActionID, b.URL = actionPrefix+"link_"+a.Name, a.URL
		default:
			continue
		}
		els = append(els, b)
	}
	if m.AlertURL != "" {
		els = append(els, button{Type: "button", ActionID: actionPrefix + "open", Text: plain("Open"), URL: m.AlertURL})
	}
	if len(els) == 0 {
		return block{}, false
	}
	return block{Type: "actions", Elements: els}, true
}

// statusLine says who changed an alert and when, for people to read.
func statusLine(status, by string, at time.Time) string {
	var s string
	switch status {
	case "acknowledged", "acknowledge":
		s = "✅ Acknowledged"
	case "closed", "close":
		s = "🔒 Closed"
	case "escalate", "escalated":
		s = "⏫ Escalated"
	case "new":
		s = "↩️ Re-opened"
	default:
		s = "Changed to " + status
	}
	if by != "" {
		s += " by " + by
	}
	if !at.IsZero() {
		s += " at " + at.UTC().Format("15:04") + " UTC"
	}
	return s
}
