package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

// dutyAhead is how far ahead the duty page lists the user's shifts.
const dutyAhead = 14 * 24 * time.Hour

type dutyData struct {
	Teams []dutyTeam
	// OnDutyIn counts the teams the user is on duty for now.
	OnDutyIn int
	Zone     string
	Ahead    int // days
}

// dutyTeam is one of the user's teams as the duty page shows it.
type dutyTeam struct {
	Team   team.Team
	Role   team.Role
	OnDuty bool
	// Mine says how the user is on duty now (a member can be primary by a
	// shift and manager by a punch at once).
	Mine []dutySlot
	// Punched says whether the user has an open punch-in, and in which
	// mode.
	Punched        bool
	PunchedManager bool
	Others         []dutySlot
	Upcoming       []dutySlot
}

// dutySlot is a member at a tier for a while.
type dutySlot struct {
	Name   string
	Tier   string
	Source string
	Start  time.Time
	End    time.Time
	// Now marks a stretch already running; Open one that lasts beyond the
	// window looked at (or has no planned end).
	Now  bool
	Open bool
}

// dutyTierLabel names a tier the way people say it.
func dutyTierLabel(tier int) string {
	switch tier {
	case duty.ManagerTier:
		return "Manager"
	case 1:
		return "Primary"
	}
	return fmt.Sprintf("Tier %d", tier)
}

func dutySourceLabel(src string) string {
	switch src {
	case "punch":
		return "punched in"
	case "rotation":
		return "rotation"
	case "override":
		return "cover"
	case "shift":
		return "planned shift"
	}
	return src
}

func (s *Server) dutyPage(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	teams, err := s.cfg.Teams.TeamsOf(ctx, v.User.ID)
	if err != nil {
		return err
	}
	now := s.cfg.Clock.Now()
	d := dutyData{Zone: v.User.TimeZone, Ahead: int(dutyAhead.Hours() / 24)}
	for _, t := range teams {
		dt, err := s.dutyTeam(ctx, v, t, now)
		if err != nil {
			return err
		}
		if dt.OnDuty {
			d.OnDutyIn++
		}
		d.Teams = append(d.Teams, dt)
	}
	v.Title, v.Nav = "Duty", "duty"
	return s.render(w, v, "duty", d)
}

// dutyTeam works out the user's duty in one team: now, who else is on, and
// the user's stretches of the coming two weeks.
func (s *Server) dutyTeam(ctx context.Context, v *view, t team.Team, now time.Time) (dutyTeam, error) {
	dt := dutyTeam{Team: t, Role: v.Roles[t.ID]}
	plan, err := s.cfg.Duty.LoadPlan(ctx, t.ID, now, now.Add(dutyAhead))
	if err != nil {
		return dt, err
	}
	for _, p := range plan.Punches {
		if p.UserID == v.User.ID && !now.Before(p.Start) && (p.End.IsZero() || now.Before(p.End)) {
			dt.Punched, dt.PunchedManager = true, p.Manager
		}
	}
	names, err := s.dutyNames(ctx, t.ID)
	if err != nil {
		return dt, err
	}
	for _, o := range plan.At(now) {
		slot := dutySlot{Name: names.of(ctx, o.UserID), Tier: dutyTierLabel(o.Tier), Source: dutySourceLabel(o.Source),
			Start: o.Since, End: o.Until, Open: o.Until.IsZero()}
		if o.UserID == v.User.ID {
			dt.OnDuty = true
			dt.Mine = append(dt.Mine, slot)
		} else {
			dt.Others = append(dt.Others, slot)
		}
	}
	to := now.Add(dutyAhead)
	periods, err := s.cfg.Duty.Report(ctx, t.ID, now, to)
	if err != nil {
		return dt, err
	}
	for _, p := range periods {
		// A punch-in has no planned end; the status above already says
		// since when it runs.
		if p.UserID != v.User.ID || p.Source == "punch" {
			continue
		}
		dt.Upcoming = append(dt.Upcoming, dutySlot{Tier: dutyTierLabel(p.Tier), Source: dutySourceLabel(p.Source),
			Start: p.Start, End: p.End, Now: !p.Start.After(now), Open: !p.End.Before(to)})
	}
	return dt, nil
}

// dutyNameBook maps user ids to display names, asking for members who have
// left the team only when they show up.
type dutyNameBook struct {
	s     *Server
	names map[string]string
}

func (s *Server) dutyNames(ctx context.Context, teamID string) (dutyNameBook, error) {
	ms, err := s.cfg.Teams.Members(ctx, teamID)
	if err != nil {
		return dutyNameBook{}, err
	}
	b := dutyNameBook{s: s, names: make(map[string]string, len(ms))}
	for _, m := range ms {
		b.names[m.UserID] = dutyDisplayName(m.Name, m.Email)
	}
	return b, nil
}

func (b dutyNameBook) of(ctx context.Context, userID string) string {
	if n, ok := b.names[userID]; ok {
		return n
	}
	n := "a former member"
	if u, err := b.s.cfg.Teams.User(ctx, userID); err == nil {
		n = dutyDisplayName(u.Name, u.Email)
	}
	b.names[userID] = n
	return n
}

func dutyDisplayName(name, email string) string {
	if name != "" {
		return name
	}
	return email
}

// dutyPunchTarget checks the punch may be made and returns the team and the
// member it is for: the user, or (for managers of the team, as in the REST
// API) another member named by the form's userId.
func (s *Server) dutyPunchTarget(r *http.Request, v *view) (team.Team, string, error) {
	teamID := r.PathValue("teamId")
	if err := v.teamRole(teamID, team.RoleResponder); err != nil {
		return team.Team{}, "", err
	}
	t, err := s.cfg.Teams.Team(r.Context(), teamID)
	if err != nil {
		return team.Team{}, "", err
	}
	userID := r.PostFormValue("userId")
	if userID == "" || userID == v.User.ID {
		if _, ok := v.Roles[teamID]; !ok {
			return t, "", apperr.New(apperr.Invalid, "you are not a member of %s, so you cannot go on duty for it", t.Name)
		}
		return t, v.User.ID, nil
	}
	if err := v.teamRole(teamID, team.RoleManager); err != nil {
		return t, "", apperr.New(apperr.Forbidden, "only managers may punch other members in or out")
	}
	return t, userID, nil
}

// dutyBack is where a punch form returns to: the duty page, or the page
// that posted it if it says so.
func dutyBack(r *http.Request) string {
	if next := r.PostFormValue("next"); next != "" {
		return safeNext(next)
	}
	return "/duty"
}

func (s *Server) dutyPunchIn(w http.ResponseWriter, r *http.Request, v *view) error {
	t, userID, err := s.dutyPunchTarget(r, v)
	if err != nil {
		return err
	}
	manager := r.PostFormValue("manager") == "1"
	changed, err := s.cfg.Duty.PunchIn(r.Context(), t.ID, userID, manager)
	if err != nil {
		return err
	}
	mode := "primary"
	if manager {
		mode = "manager"
	}
	who := "You are"
	if userID != v.User.ID {
		who = "The member is"
	}
	msg := fmt.Sprintf("%s on duty for %s as %s.", who, t.Name, mode)
	if !changed {
		msg = fmt.Sprintf("%s already on duty for %s as %s.", who, t.Name, mode)
	}
	s.cfg.Log.Info("punched in", "team_id", t.ID, "user_id", userID, "by", v.User.ID, "manager", manager)
	return redirect(w, r, dutyBack(r), msg)
}

func (s *Server) dutyPunchOut(w http.ResponseWriter, r *http.Request, v *view) error {
	t, userID, err := s.dutyPunchTarget(r, v)
	if err != nil {
		return err
	}
	if err := s.cfg.Duty.PunchOut(r.Context(), t.ID, userID); err != nil {
		if apperr.KindOf(err) == apperr.Conflict {
			// The service names the member by id; say it in words.
			return apperr.New(apperr.Conflict, "not punched in to %s, so there is nothing to punch out of", t.Name)
		}
		return err
	}
	s.cfg.Log.Info("punched out", "team_id", t.ID, "user_id", userID, "by", v.User.ID)
	msg := fmt.Sprintf("You are punched out of %s.", t.Name)
	if userID != v.User.ID {
		msg = fmt.Sprintf("The member is punched out of %s.", t.Name)
	}
	return redirect(w, r, dutyBack(r), msg)
}
