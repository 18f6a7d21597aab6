package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/duty"
)

// reportCell keeps a spreadsheet from running a cell as a formula: text
// that starts with = + - @, a tab or a carriage return gets a leading '.
func reportCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// reportCSV starts a CSV download and returns a writer that escapes cells.
func reportCSV(w http.ResponseWriter, name string, sc reportScope, header ...string) *reportWriter {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="lastmile-%s-%s-to-%s.csv"`, name, sc.FromDay, sc.ToDay))
	rw := &reportWriter{csv: csv.NewWriter(w)}
	rw.row(header...)
	return rw
}

type reportWriter struct{ csv *csv.Writer }

// row writes one line. csv.Writer buffers a few kilobytes and then writes
// through, so rows go out as they come; its error reports a client that has
// gone away.
func (rw *reportWriter) row(cells ...string) error {
	for i, c := range cells {
		cells[i] = reportCell(c)
	}
	return rw.csv.Write(cells)
}

func (rw *reportWriter) flush() error {
	rw.csv.Flush()
	return rw.csv.Error()
}

func reportUTC(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// reportAlertsCSV streams the audit trail: one row per timeline entry of the
// alerts created in the period, in the teams the user manages.
func (s *Server) reportAlertsCSV(w http.ResponseWriter, r *http.Request, v *view) error {
	sc, err := s.reportScopeOf(r, v)
	if err != nil {
		return err
	}
	rw := reportCSV(w, "alerts", sc, "alert_id", "team", "title", "severity", "alert_created_utc", "entry_at_utc", "kind", "actor", "text")
	err = s.cfg.Alerts.AuditTrail(r.Context(), sc.filter(), func(a alert.AuditRow) error {
		actor := a.Entry.Actor.Name
		if actor == "" {
			actor = a.Entry.Actor.Type
		}
		return rw.row(a.AlertID, sc.teamName(a.TeamID), a.Title, a.Severity, reportUTC(a.CreatedAt), reportUTC(a.Entry.At), a.Entry.Kind, actor, a.Entry.Text)
	})
	if err == nil {
		err = rw.flush()
	}
	if err != nil {
		// The download has begun: an error page can no longer be sent.
		s.cfg.Log.Warn("alerts csv stopped", "user", v.User.ID, "err", err)
	}
	return nil
}

// reportShiftsCSV writes who was on duty when, per team, from the same
// resolution the engine uses (duty.Service.Report).
func (s *Server) reportShiftsCSV(w http.ResponseWriter, r *http.Request, v *view) error {
	sc, err := s.reportScopeOf(r, v)
	if err != nil {
		return err
	}
	ctx := r.Context()
	type teamReport struct {
		name    string
		periods []duty.Period
		who     map[string][2]string // user id → name, email
	}
	// Each team's report is built before the download starts, so that a
	// failure still gets an error page; a year of one team's duty is small.
	var reps []teamReport
	for _, id := range sc.IDs {
		ps, err := s.cfg.Duty.Report(ctx, id, sc.From, sc.To)
		if err != nil {
			return err
		}
		ms, err := s.cfg.Teams.Members(ctx, id)
		if err != nil {
			return err
		}
		who := map[string][2]string{}
		for _, m := range ms {
			who[m.UserID] = [2]string{m.Name, m.Email}
		}
		for _, p := range ps {
			if _, ok := who[p.UserID]; !ok { // a member who has left since
				if u, err := s.cfg.Teams.User(ctx, p.UserID); err == nil {
					who[p.UserID] = [2]string{u.Name, u.Email}
				}
			}
		}
		reps = append(reps, teamReport{name: sc.teamName(id), periods: ps, who: who})
	}
	rw := reportCSV(w, "shifts", sc, "team", "member", "email", "tier", "source", "start_utc", "end_utc", "hours", "duration")
	for _, tr := range reps {
		for _, p := range tr.periods {
			tier := strconv.Itoa(p.Tier)
			if p.Tier == duty.ManagerTier {
				tier = "manager"
			}
			d := p.End.Sub(p.Start)
			if err := rw.row(tr.name, tr.who[p.UserID][0], tr.who[p.UserID][1], tier, p.Source, reportUTC(p.Start), reportUTC(p.End),
				strconv.FormatFloat(d.Hours(), 'f', 2, 64), reportDuration(d)); err != nil {
				s.cfg.Log.Warn("shifts csv stopped", "user", v.User.ID, "err", err)
				return nil
			}
		}
	}
	if err := rw.flush(); err != nil {
		s.cfg.Log.Warn("shifts csv stopped", "user", v.User.ID, "err", err)
	}
	return nil
}
