package httpapi

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

func tierOr1(t *int) int {
	if t == nil {
		return 1
	}
	return *t
}

// window reads ?from= and ?to= (RFC 3339), defaulting to the next two weeks.
func (s *Server) window(r *http.Request) (time.Time, time.Time, error) {
	q := r.URL.Query()
	from, err := parseTime(q, "from")
	if err != nil {
		return from, from, err
	}
	to, err := parseTime(q, "to")
	if err != nil {
		return from, to, err
	}
	if from.IsZero() {
		from = s.clock.Now()
	}
	if to.IsZero() {
		to = from.Add(14 * 24 * time.Hour)
	}
	if !to.After(from) || to.Sub(from) > 366*24*time.Hour {
		return from, to, apperr.New(apperr.Invalid, "to must be after from, at most a year later")
	}
	return from, to, nil
}

func (s *Server) dutyStatus(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleResponder)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := parseTime(r.URL.Query(), "at")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if t.IsZero() {
		t = s.clock.Now()
	}
	st, err := s.duty.StatusAt(r.Context(), id, t)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// punchTarget returns whom a punch is for: the caller, or another member if
// the caller is a manager of the team.
func (s *Server) punchTarget(w http.ResponseWriter, r *http.Request, p *principal, manager *bool) (string, string, error) {
	id, err := s.teamAccess(r, p, team.RoleResponder)
	if err != nil {
		return "", "", err
	}
	var req struct {
		UserID  string `json:"userId"`
		Manager bool   `json:"manager"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return "", "", err
		}
	}
	if manager != nil {
		*manager = req.Manager
	}
	if req.UserID == "" || req.UserID == p.User.ID {
		return id, p.User.ID, nil
	}
	if !p.HasRole(id, team.RoleManager) {
		return "", "", apperr.New(apperr.Forbidden, "only managers may punch other members in or out")
	}
	return id, req.UserID, nil
}

func (s *Server) punchIn(w http.ResponseWriter, r *http.Request, p *principal) {
	var manager bool
	teamID, userID, err := s.punchTarget(w, r, p, &manager)
	if err == nil {
		_, err = s.duty.PunchIn(r.Context(), teamID, userID, manager)
	}
	s.answerStatus(w, r, teamID, err)
}

func (s *Server) punchOut(w http.ResponseWriter, r *http.Request, p *principal) {
	teamID, userID, err := s.punchTarget(w, r, p, nil)
	if err == nil {
		err = s.duty.PunchOut(r.Context(), teamID, userID)
	}
	s.answerStatus(w, r, teamID, err)
}

func (s *Server) answerStatus(w http.ResponseWriter, r *http.Request, teamID string, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.duty.StatusAt(r.Context(), teamID, s.clock.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// listInWindow answers a team's plan items that overlap ?from= … ?to=.
func listInWindow[T any](s *Server, w http.ResponseWriter, r *http.Request, p *principal, list func(ctx context.Context, teamID string, from, to time.Time) ([]T, error)) {
	id, err := s.teamAccess(r, p, team.RoleResponder)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	from, to, err := s.window(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, err := list(r.Context(), id, from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[T]{Items: items})
}

func (s *Server) listShifts(w http.ResponseWriter, r *http.Request, p *principal) {
	listInWindow(s, w, r, p, s.duty.Shifts)
}

func (s *Server) addShifts(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A tier left out means tier 1: the manager tier (0) must be asked for.
	var req []struct {
		UserID string    `json:"userId"`
		Tier   *int      `json:"tier"`
		Start  time.Time `json:"start"`
		End    time.Time `json:"end"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	shifts := make([]duty.PlannedShift, len(req))
	for i, sh := range req {
		shifts[i] = duty.PlannedShift{UserID: sh.UserID, Tier: tierOr1(sh.Tier), Start: sh.Start, End: sh.End}
	}
	replace, _ := strconv.ParseBool(r.URL.Query().Get("overrideExisting"))
	out, err := s.duty.AddShifts(r.Context(), id, shifts, replace)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, page[duty.PlannedShift]{Items: out})
}

func (s *Server) deleteShift(w http.ResponseWriter, r *http.Request, p *principal) {
	s.endPlanItem(w, r, p, func(teamID string) error { return s.duty.DeleteShift(r.Context(), teamID, r.PathValue("shiftId")) })
}

func (s *Server) endPlanItem(w http.ResponseWriter, r *http.Request, p *principal, end func(teamID string) error) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err == nil {
		err = end(id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listRotations(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleResponder)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rs, err := s.duty.Rotations(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[duty.StoredRotation]{Items: rs})
}

func (s *Server) createRotation(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		duty.NewRotation
		Tier *int `json:"tier"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	req.NewRotation.Tier = tierOr1(req.Tier)
	rot, err := s.duty.CreateRotation(r.Context(), id, req.NewRotation)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rot)
}

func (s *Server) endRotation(w http.ResponseWriter, r *http.Request, p *principal) {
	s.endPlanItem(w, r, p, func(teamID string) error { return s.duty.EndRotation(r.Context(), teamID, r.PathValue("rotationId")) })
}

func (s *Server) listOverrides(w http.ResponseWriter, r *http.Request, p *principal) {
	listInWindow(s, w, r, p, s.duty.Overrides)
}

func (s *Server) createOverride(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		FromUser string    `json:"fromUser"`
		ToUser   string    `json:"toUser"`
		Tier     int       `json:"tier"`
		Start    time.Time `json:"start"`
		End      time.Time `json:"end"`
	}
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.duty.CreateOverride(r.Context(), id, duty.StoredOverride{FromUser: req.FromUser, ToUser: req.ToUser, Tier: req.Tier, Start: req.Start, End: req.End})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (s *Server) deleteOverride(w http.ResponseWriter, r *http.Request, p *principal) {
	s.endPlanItem(w, r, p, func(teamID string) error {
		return s.duty.DeleteOverride(r.Context(), teamID, r.PathValue("overrideId"))
	})
}

// shiftReport answers SIGNL4's monthly shift report as CSV: who was on duty
// when, in UTC.
func (s *Server) shiftReport(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := s.teamAccess(r, p, team.RoleManager)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	month := r.URL.Query().Get("month")
	from, err := time.Parse("2006-01", month)
	if err != nil {
		s.writeError(w, r, apperr.New(apperr.Invalid, "month %q: use YYYY-MM, for example 2026-03", month))
		return
	}
	periods, err := s.duty.Report(r.Context(), id, from, from.AddDate(0, 1, 0))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	members, err := s.teams.Members(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	email := map[string]string{}
	for _, m := range members {
		email[m.UserID] = m.Email
	}
	for _, pr := range periods { // members who have left since
		if _, ok := email[pr.UserID]; !ok {
			if u, err := s.teams.User(r.Context(), pr.UserID); err == nil {
				email[pr.UserID] = u.Email
			}
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%d_%d_ShiftReport.csv"`, from.Year(), int(from.Month())))
	cw := csv.NewWriter(w)
	cw.Write([]string{"user_id", "email", "tier", "source", "start_utc", "end_utc", "hours"})
	for _, pr := range periods {
		tier := strconv.Itoa(pr.Tier)
		if pr.Tier == duty.ManagerTier {
			tier = "manager"
		}
		cw.Write([]string{pr.UserID, email[pr.UserID], tier, pr.Source, pr.Start.UTC().Format(time.RFC3339), pr.End.UTC().Format(time.RFC3339),
			strconv.FormatFloat(pr.End.Sub(pr.Start).Hours(), 'f', 2, 64)})
	}
	cw.Flush()
}
