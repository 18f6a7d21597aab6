package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

// reportDefaultWeeks is how far back a report looks unless asked otherwise.
const reportDefaultWeeks = 12

// reportScope is what a report covers: the teams the user may report on,
// those selected, and the period, whole days in the viewer's time zone.
type reportScope struct {
	Teams    []team.Team // the teams the user manages (all, for admins)
	Selected string      // a team id, or "" for all of Teams
	IDs      []string    // the teams reported on
	From, To time.Time   // [From, To)
	FromDay  string      // YYYY-MM-DD, as the form shows it
	ToDay    string      // the last day, inclusive
	loc      *time.Location
}

// reportScopeOf checks the user may see reports and reads the team and
// period from the query. A responder is refused; a team the user cannot see
// is not found; one they see but do not manage is forbidden.
func (s *Server) reportScopeOf(r *http.Request, v *view) (reportScope, error) {
	ctx := r.Context()
	var sc reportScope
	var err error
	if v.IsAdmin() {
		sc.Teams, err = s.cfg.Teams.Teams(ctx)
	} else {
		var mine []team.Team
		mine, err = s.cfg.Teams.TeamsOf(ctx, v.User.ID)
		for _, t := range mine {
			if v.Roles[t.ID].AtLeast(team.RoleManager) {
				sc.Teams = append(sc.Teams, t)
			}
		}
		if err == nil && len(sc.Teams) == 0 {
			return sc, apperr.New(apperr.Forbidden, "reports are for team managers and administrators")
		}
	}
	if err != nil {
		return sc, err
	}
	slices.SortFunc(sc.Teams, func(a, b team.Team) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	q := r.URL.Query()
	if sc.Selected = q.Get("team"); sc.Selected != "" {
		if err := v.teamRole(sc.Selected, team.RoleManager); err != nil {
			return sc, err
		}
		if !slices.ContainsFunc(sc.Teams, func(t team.Team) bool { return t.ID == sc.Selected }) {
			return sc, notFound()
		}
		sc.IDs = []string{sc.Selected}
	} else {
		sc.IDs = make([]string, 0, len(sc.Teams))
		for _, t := range sc.Teams {
			sc.IDs = append(sc.IDs, t.ID)
		}
	}
	sc.loc = plannerLoc(v.User)
	return sc, sc.period(q.Get("from"), q.Get("to"), s.cfg.Clock.Now())
}

// period reads the first and last day (inclusive); by default the last
// reportDefaultWeeks weeks, Monday to today.
func (sc *reportScope) period(from, to string, now time.Time) error {
	n := now.In(sc.loc)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, sc.loc)
	last := today
	if to != "" {
		t, err := time.ParseInLocation(time.DateOnly, to, sc.loc)
		if err != nil {
			return apperr.New(apperr.Invalid, "to %q: enter a date such as 2026-03-30", to)
		}
		last = t
	}
	first := plannerWeekStart(last.Format(time.DateOnly), now, sc.loc).AddDate(0, 0, -7*(reportDefaultWeeks-1))
	if from != "" {
		t, err := time.ParseInLocation(time.DateOnly, from, sc.loc)
		if err != nil {
			return apperr.New(apperr.Invalid, "from %q: enter a date such as 2026-01-05", from)
		}
		first = t
	}
	if last.Before(first) {
		return apperr.New(apperr.Invalid, "the period ends (%s) before it begins (%s)", last.Format(time.DateOnly), first.Format(time.DateOnly))
	}
	if last.Sub(first) > 366*24*time.Hour {
		return apperr.New(apperr.Invalid, "the period is longer than a year; choose at most 366 days")
	}
	sc.From, sc.To = first, last.AddDate(0, 0, 1)
	sc.FromDay, sc.ToDay = first.Format(time.DateOnly), last.Format(time.DateOnly)
	return nil
}

func (sc reportScope) filter() alert.ReportFilter {
	return alert.ReportFilter{TeamIDs: sc.IDs, From: sc.From, To: sc.To}
}

// query is the scope as the CSV links carry it.
func (sc reportScope) query() string {
	q := url.Values{"from": {sc.FromDay}, "to": {sc.ToDay}}
	if sc.Selected != "" {
		q.Set("team", sc.Selected)
	}
	return q.Encode()
}

func (sc reportScope) teamName(id string) string {
	for _, t := range sc.Teams {
		if t.ID == id {
			return t.Name
		}
	}
	return id
}

// reportSeverities are the columns of the weekly table, one per colour.
var reportSeverities = []string{"sev-high", "sev-medium", "sev-low", "sev-info"}

type reportWeek struct {
	Label string
	Start time.Time
	Total int
	BySev []int // in the order of reportSeverities
	Bars  []reportBar
}

// reportBar is one severity's part of a week's bar; W is its width in
// steps of 2 % of the busiest week (a class in 72-reports.css, since the
// CSP forbids style attributes).
type reportBar struct {
	Class string
	W     int
}

// reportWeeks groups hourly counts into the weeks (Monday to Sunday in the
// viewer's time zone) of the period.
func reportWeeks(sc reportScope, counts []alert.HourCount) []reportWeek {
	var weeks []reportWeek
	for ws := plannerWeekStart(sc.FromDay, sc.From, sc.loc); ws.Before(sc.To); ws = ws.AddDate(0, 0, 7) {
		weeks = append(weeks, reportWeek{Label: ws.Format("2 Jan 2006"), Start: ws, BySev: make([]int, len(reportSeverities))})
	}
	for _, c := range counts {
		i := len(weeks) - 1
		for i > 0 && c.Hour.Before(weeks[i].Start) {
			i--
		}
		if i < 0 {
			continue
		}
		weeks[i].Total += c.Count
		weeks[i].BySev[slices.Index(reportSeverities, sevClass(c.Severity))] += c.Count
	}
	busiest := 0
	for _, w := range weeks {
		busiest = max(busiest, w.Total)
	}
	for i := range weeks {
		for j, n := range weeks[i].BySev {
			if n > 0 {
				weeks[i].Bars = append(weeks[i].Bars, reportBar{Class: reportSeverities[j], W: max(1, (n*50+busiest/2)/busiest)})
			}
		}
	}
	return weeks
}

// reportDuration says how long d is the way a person would: "4 min 10 s",
// "1 h 5 min", "2 d 3 h".
func reportDuration(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return reportPair(s/60, "min", s%60, "s")
	case s < 86400:
		return reportPair(s/3600, "h", s%3600/60, "min")
	}
	return reportPair(s/86400, "d", s%86400/3600, "h")
}

func reportPair(a int64, ua string, b int64, ub string) string {
	if b == 0 {
		return fmt.Sprintf("%d %s", a, ua)
	}
	return fmt.Sprintf("%d %s %d %s", a, ua, b, ub)
}

// reportAckRow is a line of the time-to-acknowledge tables.
type reportAckRow struct {
	Team, Member            string
	Alerts, Acked, NotAcked int
	P50, P90                string
}

func reportAckRows(sc reportScope, rep alert.AckReport) (teams, members []reportAckRow) {
	dur := func(n int, d time.Duration) string {
		if n == 0 {
			return "—"
		}
		return reportDuration(d)
	}
	for _, t := range rep.Teams {
		teams = append(teams, reportAckRow{Team: sc.teamName(t.TeamID), Alerts: t.Alerts, Acked: t.Acknowledged, NotAcked: t.NotAcknowledged,
			P50: dur(t.Acknowledged, t.P50), P90: dur(t.Acknowledged, t.P90)})
	}
	for _, m := range rep.Members {
		members = append(members, reportAckRow{Team: sc.teamName(m.TeamID), Member: m.UserName, Acked: m.Acknowledged,
			P50: dur(m.Acknowledged, m.P50), P90: dur(m.Acknowledged, m.P90)})
	}
	byTeam := func(a, b reportAckRow) int { return strings.Compare(strings.ToLower(a.Team), strings.ToLower(b.Team)) }
	slices.SortStableFunc(teams, byTeam)
	slices.SortStableFunc(members, byTeam)
	return teams, members
}
