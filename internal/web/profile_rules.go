package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

// profileBlankRules is how many empty steps the rules form offers, so that
// steps can be added without JavaScript.
const profileBlankRules = 2

type profileRulesData struct {
	// Own says whether the user has rules of their own (else the teams'
	// defaults apply).
	Own     bool
	Rows    []profileRuleRow
	Methods []profileMethodOption
	Teams   []profileTeamRules
}

type profileRuleRow struct {
	Minutes  string
	MethodID string
}

type profileMethodOption struct {
	ID   string
	Text string
}

type profileTeamRules struct {
	Team  team.Team
	Rules []profileEffectiveRule
}

type profileEffectiveRule struct {
	Minutes     string
	Channel     string
	Address     string
	TeamDefault bool
}

// profileMinutes writes a delay in minutes, with a fraction only where the
// REST API stored one.
func profileMinutes(seconds int) string {
	return strconv.FormatFloat(float64(seconds)/60, 'f', -1, 64)
}

func (s *Server) profileRulesData(ctx context.Context, v *view, cms []team.ContactMethod) (profileRulesData, error) {
	var d profileRulesData
	// The effective rules name each method by its label: a push
	// subscription's address is a long JSON document, and a label is what
	// the member chose to recognise it by.
	shown := map[string]string{}
	for _, c := range cms {
		name := c.Address
		if c.Label != "" {
			name = c.Label
		} else if c.Channel == "push" {
			name = "a browser"
		}
		shown[c.Channel+"\x00"+c.Address] = name
	}
	for _, c := range cms {
		text := c.Channel + " · " + c.Address
		if c.Label != "" {
			text = c.Channel + " · " + c.Label
		}
		if !c.Verified {
			text += " (not verified)"
		}
		d.Methods = append(d.Methods, profileMethodOption{ID: c.ID, Text: text})
	}
	own, err := s.cfg.Teams.UserRules(ctx, v.User.ID)
	if err != nil {
		return d, err
	}
	d.Own = len(own) > 0
	for _, r := range own {
		d.Rows = append(d.Rows, profileRuleRow{Minutes: profileMinutes(r.DelaySeconds), MethodID: r.ContactMethodID})
	}
	for range profileBlankRules {
		d.Rows = append(d.Rows, profileRuleRow{})
	}
	teams, err := s.cfg.Teams.TeamsOf(ctx, v.User.ID)
	if err != nil {
		return d, err
	}
	for _, t := range teams {
		eff, err := s.cfg.Teams.RulesFor(ctx, t.ID, v.User.ID)
		if err != nil {
			return d, err
		}
		tr := profileTeamRules{Team: t}
		for _, e := range eff {
			addr, ok := shown[e.Channel+"\x00"+e.Address]
			if !ok {
				addr = e.Address
			}
			tr.Rules = append(tr.Rules, profileEffectiveRule{Minutes: profileMinutes(e.DelaySeconds), Channel: e.Channel, Address: addr, TeamDefault: e.TeamDefault})
		}
		d.Teams = append(d.Teams, tr)
	}
	return d, nil
}

// profileRules replaces the user's rules with the steps of the form; a step
// whose contact method is left empty is dropped.
func (s *Server) profileRules(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := r.ParseForm(); err != nil {
		return apperr.New(apperr.Invalid, "the form could not be read")
	}
	minutes, methods := r.PostForm["minutes"], r.PostForm["method"]
	if len(minutes) != len(methods) {
		return apperr.New(apperr.Invalid, "every step needs its minutes and its contact method; reload the page and try again")
	}
	var rules []team.UserRule
	for i, m := range methods {
		if m == "" {
			continue
		}
		min := strings.TrimSpace(minutes[i])
		if min == "" {
			min = "0"
		}
		f, err := strconv.ParseFloat(min, 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > 24*60 {
			return apperr.New(apperr.Invalid, "step %d: %q is not a number of minutes from 0 to 1440", len(rules)+1, minutes[i])
		}
		rules = append(rules, team.UserRule{ContactMethodID: m, DelaySeconds: int(math.Round(f * 60))})
	}
	saved, err := s.cfg.Teams.SetUserRules(r.Context(), v.User.ID, rules)
	if err != nil {
		return err
	}
	msg := "Your own rules are cleared: each team's default rules apply."
	if len(saved) > 0 {
		msg = fmt.Sprintf("Saved. %s.", profileCount(int64(len(saved)), "step reaches you", "steps reach you"))
	}
	return redirect(w, r, "/profile#rules", msg)
}
