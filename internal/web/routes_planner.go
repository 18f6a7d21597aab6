package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

// The duty planner: a week of a team's resolved plan, and forms to change
// shifts, rotations and overrides. Managers see and change it, as the REST
// API lets them (internal/httpapi/duty.go).
func (s *Server) plannerRoutes() []route {
	return []route{
		{"GET /teams/{id}/planner", s.signedIn(s.plannerPage)},
		{"POST /teams/{id}/planner/shifts", s.signedIn(s.plannerAddShift)},
		{"POST /teams/{id}/planner/shifts/{shiftId}/delete", s.signedIn(s.plannerDeleteShift)},
		{"POST /teams/{id}/planner/shifts/{shiftId}/move", s.signedIn(s.plannerMoveShift)},
		{"POST /teams/{id}/planner/rotations", s.signedIn(s.plannerCreateRotation)},
		{"POST /teams/{id}/planner/rotations/{rotationId}/end", s.signedIn(s.plannerEndRotation)},
		{"POST /teams/{id}/planner/overrides", s.signedIn(s.plannerCreateOverride)},
		{"POST /teams/{id}/planner/overrides/{overrideId}/delete", s.signedIn(s.plannerDeleteOverride)},
	}
}

// plannerLoc is the viewer's time zone; the planner shows and reads times
// in it.
func plannerLoc(u team.User) *time.Location {
	if u.TimeZone == "" {
		return time.UTC
	}
	l, err := time.LoadLocation(u.TimeZone)
	if err != nil {
		return time.UTC
	}
	return l
}

// plannerMember is a member as the planner's selects and blocks show them.
type plannerMember struct {
	ID, Name string
	Color    int
}

// plannerPalette is how many member colours 70-planner.css defines.
const plannerPalette = 8

func (s *Server) plannerMembers(r *http.Request, teamID string) ([]plannerMember, error) {
	ms, err := s.cfg.Teams.Members(r.Context(), teamID)
	if err != nil {
		return nil, err
	}
	out := make([]plannerMember, 0, len(ms))
	for _, m := range ms {
		name := m.Name
		if name == "" {
			name = m.Email
		}
		out = append(out, plannerMember{ID: m.UserID, Name: name})
	}
	slices.SortFunc(out, func(a, b plannerMember) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	for i := range out {
		out[i].Color = i % plannerPalette
	}
	return out, nil
}

type plannerPageData struct {
	Team      team.Team
	TZ        string
	Week      plannerWeek
	Members   []plannerMember
	Shifts    []plannerShiftRow
	Rotations []plannerRotationRow
	Overrides []plannerOverrideRow
	Tiers     []plannerTierOption
	// Slots are the rotation form's participant selects, preset to every
	// member in name order.
	Slots []plannerSlot
	// Form defaults, local "2006-01-02T15:04".
	DefaultStart, DefaultEnd string
}

type plannerSlot struct {
	N       int
	Default string
}

type plannerTierOption struct {
	Value int
	Label string
}

var plannerTiers = []plannerTierOption{{1, "Tier 1 (primary)"}, {2, "Tier 2"}, {3, "Tier 3"}, {duty.ManagerTier, "Manager"}}

type plannerShiftRow struct {
	ID, Name, Tier, Start, End, StartInput string
	Ended, Begun                           bool
}

type plannerRotationRow struct {
	ID, Name, Tier, Members, Every, Handoff, Start, Status string
	Ended                                                  bool
}

type plannerOverrideRow struct {
	ID, Who, Start, End string
	Ended               bool
}

func (s *Server) plannerPage(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	ctx := r.Context()
	loc := plannerLoc(v.User)
	now := s.cfg.Clock.Now()
	members, err := s.plannerMembers(r, tm.ID)
	if err != nil {
		return err
	}
	names := map[string]plannerMember{}
	for _, m := range members {
		names[m.ID] = m
	}
	name := func(id string) string {
		if m, ok := names[id]; ok {
			return m.Name
		}
		return "former member"
	}
	start := plannerWeekStart(r.URL.Query().Get("week"), now, loc)
	end := start.AddDate(0, 0, 7)
	plan, err := s.cfg.Duty.LoadPlan(ctx, tm.ID, start, end)
	if err != nil {
		return err
	}
	shifts, err := s.cfg.Duty.Shifts(ctx, tm.ID, start, end)
	if err != nil {
		return err
	}
	overrides, err := s.cfg.Duty.Overrides(ctx, tm.ID, start, end)
	if err != nil {
		return err
	}
	rotations, err := s.cfg.Duty.Rotations(ctx, tm.ID)
	if err != nil {
		return err
	}
	wk := plannerWeek{
		Label: start.Format("2 Jan") + " – " + end.AddDate(0, 0, -1).Format("2 Jan 2006"),
		ISO:   start.Format(time.DateOnly), Prev: start.AddDate(0, 0, -7).Format(time.DateOnly), Next: end.Format(time.DateOnly),
		Start: start, End: end, location: loc, now: now, shifts: shifts, overrides: overrides, name: name,
		color: func(id string) int { return names[id].Color },
	}
	wk.layout(plannerResolve(plan, start, end))
	d := plannerPageData{Team: tm, TZ: loc.String(), Week: wk, Members: members, Tiers: plannerTiers}
	// New shifts default to 08:00–16:00 on the first day of the week that
	// is not over yet.
	first := start
	for first.AddDate(0, 0, 1).Before(now) && first.Before(end) {
		first = first.AddDate(0, 0, 1)
	}
	for i := range max(2, min(len(members), plannerRotationSlots)) {
		sl := plannerSlot{N: i + 1}
		if i < len(members) {
			sl.Default = members[i].ID
		}
		d.Slots = append(d.Slots, sl)
	}
	d.DefaultStart = first.Add(8 * time.Hour).Format(plannerLocalLayout)
	d.DefaultEnd = first.Add(16 * time.Hour).Format(plannerLocalLayout)
	f := func(t time.Time) string { return t.In(loc).Format("Mon 2 Jan 15:04") }
	for _, sh := range shifts {
		d.Shifts = append(d.Shifts, plannerShiftRow{ID: sh.ID, Name: name(sh.UserID), Tier: plannerTierLabel(sh.Tier), Start: f(sh.Start), End: f(sh.End),
			StartInput: sh.Start.In(loc).Format(plannerLocalLayout), Ended: !sh.End.After(now), Begun: sh.Start.Before(now)})
	}
	for _, o := range overrides {
		who := name(o.ToUser) + " covers for " + name(o.FromUser)
		if o.FromUser == "" {
			who = name(o.ToUser) + " is added at " + strings.ToLower(plannerTierLabel(o.Tier))
		}
		d.Overrides = append(d.Overrides, plannerOverrideRow{ID: o.ID, Who: who, Start: f(o.Start), End: f(o.End), Ended: !o.End.After(now)})
	}
	for _, rt := range rotations {
		d.Rotations = append(d.Rotations, plannerRotation(rt, name, now, loc))
	}
	v.Title, v.Nav = "Duty planner · "+tm.Name, "console"
	return s.render(w, v, "planner", d)
}

func plannerRotation(rt duty.StoredRotation, name func(string) string, now time.Time, loc *time.Location) plannerRotationRow {
	var ps []string
	for _, p := range rt.Participants {
		ps = append(ps, name(p))
	}
	row := plannerRotationRow{ID: rt.ID, Name: rt.Name, Tier: plannerTierLabel(rt.Tier), Members: strings.Join(ps, " → "),
		Every: plannerEvery(rt.Length, rt.Unit), Start: rt.Start.In(loc).Format("Mon 2 Jan 2006 15:04")}
	if row.Name == "" {
		row.Name = "Rotation"
	}
	if rl, err := time.LoadLocation(rt.TimeZone); err == nil {
		row.Handoff = rt.Start.In(rl).Format("15:04") + " " + rt.TimeZone
	}
	switch {
	case rt.End != nil && !rt.End.After(now):
		row.Status, row.Ended = "ended "+rt.End.In(loc).Format("Mon 2 Jan 2006 15:04"), true
	case rt.End != nil:
		row.Status = "until " + rt.End.In(loc).Format("Mon 2 Jan 2006 15:04")
	case rt.Start.After(now):
		row.Status = "starts " + rt.Start.In(loc).Format("Mon 2 Jan 2006")
	default:
		row.Status = "active"
	}
	return row
}

func plannerEvery(n int, u duty.Unit) string {
	unit := strings.TrimSuffix(string(u), "s")
	if n == 1 {
		return "every " + unit
	}
	return "every " + strconv.Itoa(n) + " " + string(u)
}

// plannerBack is where a planner form returns to: the week it was sent from.
func plannerBack(r *http.Request, teamID string) string {
	to := "/teams/" + url.PathEscape(teamID) + "/planner"
	if wk := r.PostFormValue("week"); wk != "" {
		if _, err := time.Parse(time.DateOnly, wk); err == nil {
			to += "?week=" + wk
		}
	}
	return to
}
