package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

// plannerTime reads a datetime-local field as a time in loc.
func plannerTime(r *http.Request, field, label string, loc *time.Location) (time.Time, error) {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		return time.Time{}, apperr.New(apperr.Invalid, "%s: enter a date and time", label)
	}
	for _, layout := range []string{plannerLocalLayout, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, apperr.New(apperr.Invalid, "%s %q: enter a date and time such as 2026-03-30T08:00", label, v)
}

// plannerTier reads a tier select: 1, 2, 3 … or 0 for the manager.
func plannerTier(r *http.Request, field string) (int, error) {
	v := r.PostFormValue(field)
	t, err := strconv.Atoi(v)
	if err != nil || t < 0 || t > 9 {
		return 0, apperr.New(apperr.Invalid, "tier %q: choose tier 1, 2, 3 or manager", v)
	}
	return t, nil
}

func plannerRequired(r *http.Request, field, what string) (string, error) {
	v := strings.TrimSpace(r.PostFormValue(field))
	if v == "" {
		return "", apperr.New(apperr.Invalid, "choose %s", what)
	}
	return v, nil
}

func plannerSpan(start, end time.Time, loc *time.Location) string {
	return start.In(loc).Format("Mon 2 Jan 15:04") + " – " + end.In(loc).Format("Mon 2 Jan 15:04")
}

func (s *Server) plannerAddShift(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	loc := plannerLoc(v.User)
	tier, err := plannerTier(r, "tier")
	if err != nil {
		return err
	}
	user, err := plannerRequired(r, "user", "the member on duty")
	if err != nil {
		return err
	}
	start, err := plannerTime(r, "start", "start", loc)
	if err != nil {
		return err
	}
	end, err := plannerTime(r, "end", "end", loc)
	if err != nil {
		return err
	}
	replace := r.PostFormValue("replace") != ""
	if _, err := s.cfg.Duty.AddShifts(r.Context(), tm.ID, []duty.PlannedShift{{UserID: user, Tier: tier, Start: start, End: end}}, replace); err != nil {
		return err
	}
	return redirect(w, r, plannerBack(r, tm.ID), "Shift added: "+plannerSpan(start, end, loc)+".")
}

func (s *Server) plannerDeleteShift(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	if err := s.cfg.Duty.DeleteShift(r.Context(), tm.ID, r.PathValue("shiftId")); err != nil {
		return err
	}
	return redirect(w, r, plannerBack(r, tm.ID), "Shift removed; a shift in progress ends now.")
}

// plannerMoveShift moves a shift to a new start, keeping its length; the
// drag script and the "move to" field of the shift list both post here.
func (s *Server) plannerMoveShift(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	loc := plannerLoc(v.User)
	start, err := plannerTime(r, "start", "new start", loc)
	if err != nil {
		return err
	}
	sh, err := s.cfg.Duty.MoveShift(r.Context(), tm.ID, r.PathValue("shiftId"), start)
	if err != nil {
		return err
	}
	return redirect(w, r, plannerBack(r, tm.ID), "Shift moved to "+plannerSpan(sh.Start, sh.End, loc)+".")
}

// plannerRotationSlots is how many participant selects the rotation form
// offers at most.
const plannerRotationSlots = 12

func (s *Server) plannerCreateRotation(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	nr := duty.NewRotation{Name: r.PostFormValue("name"), TimeZone: strings.TrimSpace(r.PostFormValue("timezone")), Unit: duty.Unit(r.PostFormValue("unit"))}
	if nr.Tier, err = plannerTier(r, "tier"); err != nil {
		return err
	}
	for i := 1; i <= plannerRotationSlots; i++ {
		if p := r.PostFormValue(fmt.Sprintf("participant%d", i)); p != "" {
			nr.Participants = append(nr.Participants, p)
		}
	}
	if len(nr.Participants) == 0 {
		return apperr.New(apperr.Invalid, "choose at least one member for the rotation")
	}
	if nr.Length, err = strconv.Atoi(r.PostFormValue("length")); err != nil || nr.Length < 1 {
		return apperr.New(apperr.Invalid, "shift length %q: enter a whole number of at least 1", r.PostFormValue("length"))
	}
	// The first handoff is read in the rotation's own time zone: its clock
	// time there is the handoff time of every shift.
	loc, err := time.LoadLocation(nr.TimeZone)
	if err != nil || nr.TimeZone == "" || nr.TimeZone == "Local" {
		return apperr.New(apperr.Invalid, "time zone %q is not an IANA time zone name (for example Europe/Berlin)", nr.TimeZone)
	}
	if nr.Start, err = plannerTime(r, "start", "first handoff", loc); err != nil {
		return err
	}
	if strings.TrimSpace(r.PostFormValue("end")) != "" {
		end, err := plannerTime(r, "end", "end", loc)
		if err != nil {
			return err
		}
		nr.End = &end
	}
	rot, err := s.cfg.Duty.CreateRotation(r.Context(), tm.ID, nr)
	if err != nil {
		return err
	}
	return redirect(w, r, plannerBack(r, tm.ID), fmt.Sprintf("Rotation created: %d members, %s, handoff at %s %s.",
		len(rot.Participants), plannerEvery(rot.Length, rot.Unit), nr.Start.In(loc).Format("15:04"), rot.TimeZone))
}

func (s *Server) plannerEndRotation(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	if err := s.cfg.Duty.EndRotation(r.Context(), tm.ID, r.PathValue("rotationId")); err != nil {
		return err
	}
	return redirect(w, r, plannerBack(r, tm.ID), "Rotation ended; the duty it planned before now stays as it was.")
}

func (s *Server) plannerCreateOverride(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	loc := plannerLoc(v.User)
	o := duty.StoredOverride{FromUser: r.PostFormValue("from_user")}
	if o.ToUser, err = plannerRequired(r, "to_user", "the member who takes over"); err != nil {
		return err
	}
	if o.FromUser == "" {
		if o.Tier, err = plannerTier(r, "tier"); err != nil {
			return err
		}
	}
	if o.Start, err = plannerTime(r, "start", "from", loc); err != nil {
		return err
	}
	if o.End, err = plannerTime(r, "end", "until", loc); err != nil {
		return err
	}
	if _, err := s.cfg.Duty.CreateOverride(r.Context(), tm.ID, o); err != nil {
		return err
	}
	return redirect(w, r, plannerBack(r, tm.ID), "Override added: "+plannerSpan(o.Start, o.End, loc)+".")
}

func (s *Server) plannerDeleteOverride(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	if err := s.cfg.Duty.DeleteOverride(r.Context(), tm.ID, r.PathValue("overrideId")); err != nil {
		return err
	}
	return redirect(w, r, plannerBack(r, tm.ID), "Override removed; one in progress ends now.")
}
