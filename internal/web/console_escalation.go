package web

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

// consoleChannels are the channels a team rule can name, with the words
// the page uses for them.
func consoleChannels() []consoleOption {
	return []consoleOption{
		{Value: "push", Label: "App push"}, {Value: "ntfy", Label: "ntfy"}, {Value: "sms", Label: "SMS"},
		{Value: "voice", Label: "Voice call"}, {Value: "email", Label: "Email"}, {Value: "teams", Label: "Microsoft Teams"},
		{Value: "slack", Label: "Slack"}, {Value: "webhook", Label: "Webhook"},
	}
}

// consoleRuleRow is one team notification rule in the form; an empty channel is
// a blank row to add one.
type consoleRuleRow struct {
	Channel string
	Minutes string
}

type consoleEscalationData struct {
	Team        team.Team
	CanEdit     bool // manager: alert settings and rules
	CanScenario bool // team admin: the default scenario, a team setting
	Scenarios   []consoleOption
	Channels    []consoleOption
	Target      string
	RepeatEvery string
	RepeatLimit int
	AckTimeout  string
	Rules       []consoleRuleRow
}

// consoleBlankRules is how many empty rows the rules form offers for adding.
const consoleBlankRules = 2

func (s *Server) consoleEscalation(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	a, err := s.cfg.Teams.AlertSettings(r.Context(), t.ID)
	if err != nil {
		return err
	}
	rules, err := s.cfg.Teams.TeamRules(r.Context(), t.ID)
	if err != nil {
		return err
	}
	d := consoleEscalationData{Team: t, CanEdit: true, CanScenario: v.teamRole(t.ID, team.RoleAdmin) == nil,
		Scenarios: consoleScenarios(), Channels: consoleChannels(),
		Target: consoleMinutes(a.TargetResponseSeconds), RepeatEvery: consoleMinutes(a.RepeatEverySeconds),
		RepeatLimit: a.RepeatLimit, AckTimeout: consoleMinutes(a.AckTimeoutSeconds)}
	for _, rl := range rules {
		d.Rules = append(d.Rules, consoleRuleRow{Channel: rl.Channel, Minutes: consoleMinutes(rl.DelaySeconds)})
	}
	for range consoleBlankRules {
		d.Rules = append(d.Rules, consoleRuleRow{})
	}
	v.Title, v.Nav = t.Name+" · Escalation", "console"
	return s.render(w, v, "team_escalation", d)
}

// consoleMinutes shows seconds as minutes, with decimals only when needed
// (a setting made through the API need not be whole minutes).
func consoleMinutes(sec int) string {
	return strconv.FormatFloat(float64(sec)/60, 'f', -1, 64)
}

// consoleFormMinutes reads a minutes field of an alert setting as seconds:
// empty or 0 is off, else 1 minute to a week, the range the service takes.
func consoleFormMinutes(r *http.Request, field, label string) (int, error) {
	raw := r.PostFormValue(field)
	sec, err := consoleParseMinutes(raw)
	if err != nil || (sec != 0 && (sec < 60 || sec > 7*24*3600)) {
		return 0, apperr.New(apperr.Invalid, "%s: %q does not work; use 0 (off) or 1 to 10080 minutes (a week).", label, strings.TrimSpace(raw))
	}
	return sec, nil
}

func (s *Server) consoleSaveAlertSettings(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	var a team.AlertSettings
	if a.TargetResponseSeconds, err = consoleFormMinutes(r, "target", "Target response time"); err != nil {
		return err
	}
	if a.RepeatEverySeconds, err = consoleFormMinutes(r, "repeat_every", "Repeat every"); err != nil {
		return err
	}
	if a.AckTimeoutSeconds, err = consoleFormMinutes(r, "ack_timeout", "Acknowledged but not closed"); err != nil {
		return err
	}
	if raw := strings.TrimSpace(r.PostFormValue("repeat_limit")); raw != "" {
		if a.RepeatLimit, err = strconv.Atoi(raw); err != nil {
			return apperr.New(apperr.Invalid, "Repeat how often: %q is not a whole number.", raw)
		}
	}
	if _, err := s.cfg.Teams.SetAlertSettings(r.Context(), t.ID, a); err != nil {
		return consoleSettingsError(err)
	}
	s.cfg.Log.Info("alert settings changed", "team_id", t.ID, "by", v.User.ID)
	return redirect(w, r, "/teams/"+t.ID+"/escalation", "Escalation settings saved.")
}

// consoleSettingsError turns the service's field names into the words on
// the page.
func consoleSettingsError(err error) error {
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.Invalid {
		return err
	}
	msg := e.Message
	for _, rp := range [][2]string{
		{"targetResponseSeconds", "Target response time (seconds)"}, {"repeatEverySeconds", "Repeat every (seconds)"},
		{"ackTimeoutSeconds", "Acknowledged but not closed (seconds)"}, {"repeatLimit needs repeatEverySeconds", "Repeating needs a time in \"Repeat every\""},
		{"repeatLimit", "Repeat how often"}, {"delaySeconds", "delay (seconds)"},
	} {
		msg = strings.ReplaceAll(msg, rp[0], rp[1])
	}
	return apperr.New(apperr.Invalid, "%s", msg)
}

func (s *Server) consoleSaveRules(w http.ResponseWriter, r *http.Request, v *view) error {
	t, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return apperr.New(apperr.Invalid, "the form could not be read")
	}
	channels, delays := r.PostForm["channel"], r.PostForm["delay"]
	rules := []team.TeamRule{}
	for i, ch := range channels {
		if ch = strings.TrimSpace(ch); ch == "" {
			continue
		}
		d := ""
		if i < len(delays) {
			d = delays[i]
		}
		sec, err := consoleParseMinutes(d)
		if err != nil {
			return apperr.New(apperr.Invalid, "Rule %d: %q is not a number of minutes.", len(rules)+1, d)
		}
		rules = append(rules, team.TeamRule{Channel: ch, DelaySeconds: sec})
	}
	if _, err := s.cfg.Teams.SetTeamRules(r.Context(), t.ID, rules); err != nil {
		return consoleSettingsError(err)
	}
	s.cfg.Log.Info("team notification rules changed", "team_id", t.ID, "rules", len(rules), "by", v.User.ID)
	return redirect(w, r, "/teams/"+t.ID+"/escalation", "Notification rules saved.")
}

func consoleParseMinutes(raw string) (int, error) {
	raw = strings.TrimSpace(strings.ReplaceAll(raw, ",", "."))
	if raw == "" {
		return 0, nil
	}
	m, err := strconv.ParseFloat(raw, 64)
	if err != nil || m < 0 || math.IsNaN(m) || math.IsInf(m, 0) || m > 1e6 {
		return 0, apperr.New(apperr.Invalid, "not a number of minutes")
	}
	return int(math.Round(m * 60)), nil
}
