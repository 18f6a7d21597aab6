package web

import (
	"net/http"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

// consoleTeam is one row of the console's team list.
type consoleTeam struct {
	Team    team.Team
	Role    team.Role // "" for an administrator who is not a member
	Members int
	OnDuty  int
	Open    int
}

// consoleOption is a scenario as a form offers it.
type consoleOption struct {
	Value string
	Label string
	Help  string
}

// consoleScenarios are the alerting scenarios in plain words.
func consoleScenarios() []consoleOption {
	return []consoleOption{
		{team.ScenarioSingleAck, "One acknowledgement", "Everyone on duty is alerted; the first to acknowledge takes the alert and the others stop being alerted."},
		{team.ScenarioMultiAck, "Everyone on duty acknowledges", "People keep being alerted until as many have acknowledged as were on duty when the alert came in."},
		{team.ScenarioEmergency, "Emergency: the whole team", "Every member is alerted, on duty or not, until someone acknowledges."},
	}
}

// consoleCreatedTeam is shown once after a team was made: its secret is not kept
// in a readable form, so this is the only time its webhook URL is known.
type consoleCreatedTeam struct {
	Team       team.Team
	WebhookURL string
	EventsURL  string
}

type consoleHomeData struct {
	Teams     []consoleTeam
	CanCreate bool
	Scenarios []consoleOption
	Created   *consoleCreatedTeam
	Name      string
}

func (s *Server) console(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.renderConsole(w, r, v, nil)
}

func (s *Server) renderConsole(w http.ResponseWriter, r *http.Request, v *view, created *consoleCreatedTeam) error {
	if !v.Manages() {
		return apperr.New(apperr.Forbidden, "The console is for team managers and admins only. Ask an administrator if you need to manage a team.")
	}
	ctx := r.Context()
	var ts []team.Team
	var err error
	if v.IsAdmin() {
		ts, err = s.cfg.Teams.Teams(ctx)
	} else {
		ts, err = s.cfg.Teams.TeamsOf(ctx, v.User.ID)
	}
	if err != nil {
		return err
	}
	members, open, err := s.consoleCounts(ctx)
	if err != nil {
		return err
	}
	now := s.cfg.Clock.Now()
	d := consoleHomeData{Teams: []consoleTeam{}, CanCreate: v.IsAdmin(), Scenarios: consoleScenarios(), Created: created}
	for _, t := range ts {
		if !v.HasRole(t.ID, team.RoleManager) {
			continue
		}
		row := consoleTeam{Team: t, Role: v.Roles[t.ID], Members: members[t.ID], Open: open[t.ID]}
		st, err := s.cfg.Duty.StatusAt(ctx, t.ID, now)
		if err != nil {
			return err
		}
		people := map[string]bool{}
		for _, od := range st.OnDuty {
			people[od.UserID] = true
		}
		row.OnDuty = len(people)
		d.Teams = append(d.Teams, row)
	}
	v.Title, v.Nav = "Teams", "console"
	return s.render(w, v, "console", d)
}

func (s *Server) consoleCreateTeam(w http.ResponseWriter, r *http.Request, v *view) error {
	t, secret, err := s.cfg.Teams.CreateTeam(r.Context(), r.PostFormValue("name"), r.PostFormValue("scenario"))
	if err != nil {
		return err
	}
	s.cfg.Log.Info("team created", "team_id", t.ID, "by", v.User.ID)
	// The creator is not made a member: an administrator already manages
	// every team, and being a member would put them on its duty lists.
	base := strings.TrimSuffix(s.cfg.BaseURL, "/")
	v.Flash = &flash{Kind: "ok", Text: "Team " + t.Name + " created."}
	return s.renderConsole(w, r, v, &consoleCreatedTeam{Team: t, WebhookURL: base + "/webhook/" + secret, EventsURL: base + "/api/v2/events/" + secret})
}
