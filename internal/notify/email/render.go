package email

import (
	"fmt"
	"strings"

	"github.com/lastmile/lastmile/internal/notify"
)

// severityStyle is how a severity looks in a subject and a mail.
type severityStyle struct {
	Name  string // in subjects: [high]
	Label string // on the pill: HIGH
	Color string // the bar and the pill
}

var severities = map[string]severityStyle{
	"critical": {"critical", "CRITICAL", "#b91c1c"},
	"high":     {"high", "HIGH", "#ea580c"},
	"medium":   {"medium", "MEDIUM", "#ca8a04"},
	"low":      {"low", "LOW", "#2563eb"},
	"info":     {"info", "INFO", "#6b7280"},
}

var severityRank = map[string]int{"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

// severityOf treats an empty or unknown severity as medium.
func severityOf(s string) severityStyle {
	if st, ok := severities[strings.ToLower(s)]; ok {
		return st
	}
	return severities["medium"]
}

// button colours by action name; unknown actions are dark grey.
var buttonColors = map[string]string{
	"acknowledge": "#15803d",
	"close":       "#374151",
	"escalate":    "#b91c1c",
}

// view is what both parts of a mail are rendered from.
type view struct {
	Kind     string
	Subject  string
	Heading  string // above the title: "New alert", "Reminder: still open"
	Title    string
	Lines    []string // the text, line by line
	Severity severityStyle
	Team     string
	Bundle   []bundleRow
	Buttons  []button
	AlertURL string
	Code     string
	Footer   string
}

type bundleRow struct {
	Title    string
	Severity severityStyle
}

type button struct {
	Label string
	URL   string
	Color string
}

// newView decides what a message says, per kind.
func newView(m notify.Message) view {
	v := view{Kind: m.Kind, Title: notify.OneLine(m.Title), Severity: severityOf(m.Severity), Team: notify.OneLine(m.TeamName), AlertURL: m.AlertURL}
	if v.Title == "" {
		v.Title = "(no title)"
	}
	team := ""
	if v.Team != "" {
		team = " — Team " + v.Team
	}
	if text := strings.TrimSpace(strings.ReplaceAll(m.Text, "\r\n", "\n")); text != "" {
		v.Lines = strings.Split(text, "\n")
	}
	for _, a := range m.Actions {
		if a.URL == "" {
			continue
		}
		label := a.Label
		if label == "" {
			label = strings.ToUpper(a.Name[:min(1, len(a.Name))]) + a.Name[min(1, len(a.Name)):]
		}
		color, ok := buttonColors[a.Name]
		if !ok {
			color = "#374151"
		}
		v.Buttons = append(v.Buttons, button{Label: label, URL: a.URL, Color: color})
	}
	v.Footer = "You get this email because you are on call in lastmile."
	if v.Team != "" {
		v.Footer = "You get this email because you are on call for Team " + v.Team + " in lastmile."
	}

	switch m.Kind {
	case notify.KindVerify:
		v.Code = notify.OneLine(m.Code)
		v.Subject = "[lastmile] Your verification code is " + v.Code
		v.Heading, v.Title, v.Lines, v.Buttons, v.AlertURL, v.Team = "Verification", "Your lastmile verification code is "+v.Code, nil, nil, "", ""
		v.Footer = "Someone added this address to a lastmile account. If it was not you, ignore this email."
		return v
	case notify.KindInvite:
		v.Subject = "[lastmile] " + v.Title
		v.Heading = "Invitation"
		v.Severity = severities["info"]
		v.Team = ""
		v.Footer = "Someone invited this address to lastmile. If you did not expect it, ignore this email: nothing happens until the link is used."
		return v
	case notify.KindTest:
		v.Subject = "[lastmile] Test notification" + team
		v.Heading = "Test notification"
		if m.Title == "" {
			v.Title = "This is a test message from lastmile"
		}
		if len(v.Lines) == 0 {
			v.Lines = []string{"If you can read this, lastmile can reach you by email."}
		}
		v.Severity = severities["info"]
		return v
	case notify.KindBundle:
		top := ""
		for _, a := range m.Bundle {
			st := severityOf(a.Severity)
			if top == "" || severityRank[st.Name] > severityRank[top] {
				top = st.Name
			}
			title := notify.OneLine(a.Title)
			if title == "" {
				title = "(no title)"
			}
			v.Bundle = append(v.Bundle, bundleRow{Title: title, Severity: st})
		}
		if top != "" {
			v.Severity = severities[top]
		}
		n := len(m.Bundle)
		v.Title = fmt.Sprintf("%d new alerts", n)
		if n == 1 {
			v.Title = "1 new alert"
		}
		if v.Team != "" {
			v.Title += " in Team " + v.Team
		}
		v.Subject = fmt.Sprintf("[lastmile] [%s] %d new alerts%s", v.Severity.Name, n, team)
		v.Heading = "New alerts"
		return v
	}
	// Every mail of one alert keeps the same subject, so mail programs
	// that thread by subject keep them together.
	v.Subject = fmt.Sprintf("[lastmile] [%s] %s%s", v.Severity.Name, v.Title, team)
	switch m.Kind {
	case "repeat":
		v.Heading = "Reminder: this alert is still open"
	case "escalation":
		v.Heading = "Escalated to you: nobody has acknowledged this alert yet"
	case "ack_timeout":
		v.Heading = "Acknowledged, but still not closed in time"
	default:
		v.Heading = "New alert"
	}
	return v
}

// text renders the text/plain part, with the same links as the HTML.
func (v view) text() string {
	var b strings.Builder
	if v.Kind == notify.KindVerify {
		fmt.Fprintf(&b, "%s\n\n%s\n", v.Title, v.Footer)
		return b.String()
	}
	fmt.Fprintf(&b, "%s\n\n[%s] %s\n", v.Heading, v.Severity.Label, v.Title)
	if v.Team != "" && v.Kind != notify.KindBundle {
		fmt.Fprintf(&b, "Team %s\n", v.Team)
	}
	if len(v.Lines) > 0 {
		b.WriteString("\n" + strings.Join(v.Lines, "\n") + "\n")
	}
	if len(v.Bundle) > 0 {
		b.WriteString("\n")
		for _, r := range v.Bundle {
			fmt.Fprintf(&b, "- [%s] %s\n", r.Severity.Label, r.Title)
		}
	}
	if len(v.Buttons) > 0 {
		b.WriteString("\n")
		for _, btn := range v.Buttons {
			fmt.Fprintf(&b, "%s: %s\n", btn.Label, btn.URL)
		}
		b.WriteString("(Links work once and expire.)\n")
	}
	if v.AlertURL != "" {
		fmt.Fprintf(&b, "\nOpen in lastmile: %s\n", v.AlertURL)
	}
	fmt.Fprintf(&b, "\n-- \n%s\n", v.Footer)
	return b.String()
}
