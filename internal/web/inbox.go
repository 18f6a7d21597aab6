package web

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/team"
)

// inboxPage is how many alerts one inbox page shows.
const inboxPage = 50

// maxSearch bounds the inbox's search text.
const maxSearch = 200

// closedCountCap is where the count of closed alerts stops ("1000+").
const closedCountCap = 1000

// inboxFilters are the inbox's status filters, in the order of its chips.
var inboxFilters = []struct {
	key, label string
	statuses   []alert.Status
}{
	{"open", "All open", []alert.Status{alert.StatusNew, alert.StatusAcknowledged}},
	{"new", "New", []alert.Status{alert.StatusNew}},
	{"acknowledged", "Acknowledged", []alert.Status{alert.StatusAcknowledged}},
	{"closed", "Closed", []alert.Status{alert.StatusClosed}},
}

type inboxData struct {
	Status, Team, Q string
	Rows            []inboxRow
	Chips           []inboxChip
	TeamChips       []inboxChip
	// Here is this page's address (actions come back to it); Refresh is
	// where the page's script reloads the list from; Next and First are
	// the older page and the first page ("" when there is none).
	Here, Refresh, Next, First string
	// NoTeams says the user is in no team, so the inbox is empty for a
	// reason they can act on.
	NoTeams bool
}

type inboxRow struct {
	alert.Alert
	TeamName string
}

type inboxChip struct {
	Label   string
	URL     string
	Count   string // "" for no count
	Current bool
}

// inboxURL is the inbox with these filters; "open" and empty values are
// left out so the plain /inbox is the default view.
func inboxURL(status, teamID, q, cursor string, partial bool) string {
	v := url.Values{}
	if status != "" && status != "open" {
		v.Set("status", status)
	}
	if teamID != "" {
		v.Set("team", teamID)
	}
	if q != "" {
		v.Set("q", q)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if partial {
		v.Set("partial", "1")
	}
	if len(v) == 0 {
		return "/inbox"
	}
	return "/inbox?" + v.Encode()
}

// visibleTeams returns the names of the teams whose alerts the user sees,
// read once per page (no query per alert).
func (s *Server) visibleTeams(ctx context.Context, v *view) ([]team.Team, error) {
	if v.IsAdmin() {
		return s.cfg.Teams.Teams(ctx)
	}
	return s.cfg.Teams.TeamsOf(ctx, v.User.ID)
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := inboxData{Status: q.Get("status"), Team: q.Get("team"), Q: strings.TrimSpace(q.Get("q"))}
	if d.Status == "" {
		d.Status = "open"
	}
	var statuses []alert.Status
	for _, f := range inboxFilters {
		if f.key == d.Status {
			statuses = f.statuses
		}
	}
	if statuses == nil {
		return apperr.New(apperr.Invalid, "status %q: use open, new, acknowledged or closed", d.Status)
	}
	if len(d.Q) > maxSearch {
		return apperr.New(apperr.Invalid, "the search text is too long: use at most %d characters", maxSearch)
	}
	teamIDs := v.TeamIDs()
	if d.Team != "" {
		if !v.CanSee(d.Team) {
			return apperr.New(apperr.NotFound, "team not found")
		}
		teamIDs = []string{d.Team}
	}
	teams, err := s.visibleTeams(ctx, v)
	if err != nil {
		return err
	}
	names := make(map[string]string, len(teams))
	for _, t := range teams {
		names[t.ID] = t.Name
	}
	d.NoTeams = len(teams) == 0
	cursor := q.Get("cursor")
	alerts, next, err := s.cfg.Alerts.Inbox(ctx, alert.InboxFilter{TeamIDs: teamIDs, Statuses: statuses, Search: d.Q, Cursor: cursor, Limit: inboxPage})
	if err != nil {
		return err
	}
	// A search is a scan of every alert it may match; counting the closed
	// ones too would read the whole history on each keystroke's page.
	closedCap := closedCountCap
	if d.Q != "" {
		closedCap = 0
	}
	counts, err := s.cfg.Alerts.InboxCounts(ctx, teamIDs, d.Q, closedCap)
	if err != nil {
		return err
	}
	d.Rows = make([]inboxRow, len(alerts))
	for i, a := range alerts {
		d.Rows[i] = inboxRow{Alert: a, TeamName: names[a.TeamID]}
	}
	for _, f := range inboxFilters {
		n := 0
		for _, st := range f.statuses {
			n += counts[st]
		}
		count := strconv.Itoa(n)
		switch {
		case n < 0:
			count = ""
		case n > closedCountCap:
			count = strconv.Itoa(closedCountCap) + "+"
		}
		d.Chips = append(d.Chips, inboxChip{Label: f.label, URL: inboxURL(f.key, d.Team, d.Q, "", false), Count: count, Current: f.key == d.Status})
	}
	if len(teams) > 1 {
		d.TeamChips = append(d.TeamChips, inboxChip{Label: "All teams", URL: inboxURL(d.Status, "", d.Q, "", false), Current: d.Team == ""})
		for _, t := range teams {
			d.TeamChips = append(d.TeamChips, inboxChip{Label: t.Name, URL: inboxURL(d.Status, t.ID, d.Q, "", false), Current: d.Team == t.ID})
		}
	}
	d.Here = inboxURL(d.Status, d.Team, d.Q, cursor, false)
	d.Refresh = inboxURL(d.Status, d.Team, d.Q, cursor, true)
	if next != "" {
		d.Next = inboxURL(d.Status, d.Team, d.Q, next, false)
	}
	if cursor != "" {
		d.First = inboxURL(d.Status, d.Team, d.Q, "", false)
	}
	v.Title, v.Nav = "Inbox", "inbox"
	if q.Get("partial") == "1" {
		return s.renderLivePart(w, v, "inbox", "inbox-live", d)
	}
	return s.render(w, v, "inbox", d)
}

// renderLivePart renders one named part of a page without the layout, for
// the pages' scripts to swap in when something changed.
func (s *Server) renderLivePart(w http.ResponseWriter, v *view, page, name string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return apperr.New(apperr.Internal, "no page template %s", page)
	}
	v.Data = data
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes()) // a reader that went away needs no error page
	return nil
}
