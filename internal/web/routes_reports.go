package web

import (
	"html/template"
	"net/http"
)

// Reports are for team managers (their teams) and administrators (every
// team): alerts by week, time to acknowledge, and CSV exports.
func (s *Server) reportRoutes() []route {
	return []route{
		{"GET /reports", s.signedIn(s.reportPage)},
		{"GET /reports/alerts.csv", s.signedIn(s.reportAlertsCSV)},
		{"GET /reports/shifts.csv", s.signedIn(s.reportShiftsCSV)},
	}
}

type reportPageData struct {
	Scope      reportScope
	TZ         string
	Weeks      []reportWeek
	Severities []string
	Total      int
	AckTeams   []reportAckRow
	AckMembers []reportAckRow
	// Query is the scope as url.Values encoded it: safe, and not to be
	// escaped again.
	Query template.URL
}

func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, v *view) error {
	sc, err := s.reportScopeOf(r, v)
	if err != nil {
		return err
	}
	counts, err := s.cfg.Alerts.CountsByHour(r.Context(), sc.filter())
	if err != nil {
		return err
	}
	acks, err := s.cfg.Alerts.AckTimes(r.Context(), sc.filter())
	if err != nil {
		return err
	}
	d := reportPageData{Scope: sc, TZ: sc.loc.String(), Weeks: reportWeeks(sc, counts), Severities: []string{"high", "medium", "low", "info"}, Query: template.URL(sc.query())}
	for _, wk := range d.Weeks {
		d.Total += wk.Total
	}
	d.AckTeams, d.AckMembers = reportAckRows(sc, acks)
	v.Title, v.Nav = "Reports", "reports"
	return s.render(w, v, "reports", d)
}
