package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/team"
)

// rowIDs returns the alert ids of the inbox's rows, in page order.
var rowRE = regexp.MustCompile(`data-alert-id="([^"]+)"`)

func rowIDs(body string) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

var olderRE = regexp.MustCompile(`href="([^"]+)" rel="next"`)

func (h *harness) secondTeam(name string) team.Team {
	h.t.Helper()
	tm, _, err := h.teams.CreateTeam(context.Background(), name, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return tm
}

// raiseEvent opens an alert in the team as an inbound event would, with
// attachments. (harness.alert leaves the event's action unset.)
func (h *harness) raiseEvent(tm team.Team, ev ingest.Event, atts ...ingest.Attachment) alert.Alert {
	h.t.Helper()
	ctx := context.Background()
	ev.Action = ingest.ActionNew
	if ev.Text == "" {
		ev.Text = ev.Title + " details"
	}
	out, err := h.alerts.Ingest(ctx, alert.Inbound{Team: tm, Attachments: atts,
		Raw: alert.Raw{Source: "webhook", ContentType: "application/json", Body: []byte(`{}`)}, Event: &ev})
	if err != nil {
		h.t.Fatal(err)
	}
	if out.AlertID == "" {
		h.t.Fatalf("the event opened no alert: %s %s", out.Status, out.Reason)
	}
	a, err := h.alerts.Get(ctx, out.AlertID)
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

// inboxAlert opens an alert with a title and severity.
func (h *harness) inboxAlert(tm team.Team, title, severity string) alert.Alert {
	h.t.Helper()
	return h.raiseEvent(tm, ingest.Event{Title: title, Severity: severity})
}

func (h *harness) act(a alert.Alert, action string) {
	h.t.Helper()
	if _, err := h.alerts.Transition(context.Background(), a.ID, action, alert.UserActor(h.admin), "", func(string) bool { return true }); err != nil {
		h.t.Fatal(err)
	}
}

func TestInboxShowsOnlyMyTeamsAlerts(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		sec := h.secondTeam("Sec")
		h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		mine := h.inboxAlert(h.team, "Disk full on db-1", "high")
		theirs := h.inboxAlert(sec, "Phishing wave", "high")
		c := h.login("ann@example.com")
		p := c.get("/inbox")
		if p.status != http.StatusOK {
			t.Fatalf("inbox: %d %s", p.status, p.body)
		}
		if !strings.Contains(p.body, "Disk full on db-1") || !strings.Contains(p.body, `href="/alerts/`+mine.ID+`"`) {
			t.Errorf("the inbox lacks the team's alert")
		}
		if strings.Contains(p.body, "Phishing wave") || strings.Contains(p.body, theirs.ID) {
			t.Errorf("the inbox shows another team's alert")
		}
		if !strings.Contains(p.body, ">Ops<") {
			t.Errorf("the row lacks its team name")
		}
		for _, path := range []string{"/alerts/" + theirs.ID, "/alerts/" + theirs.ID + "/stream", "/alerts/no-such-alert"} {
			if p := c.get(path); p.status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, p.status)
			}
		}
		if p := c.get("/inbox?team=" + sec.ID); p.status != http.StatusNotFound {
			t.Errorf("filtering by another team answered %d, want 404", p.status)
		}
		// The admin sees every team's alerts.
		if p := h.login("admin@example.com").get("/inbox"); !strings.Contains(p.body, "Phishing wave") || !strings.Contains(p.body, "Disk full") {
			t.Errorf("the administrator's inbox lacks alerts")
		}
	})
}

func TestInboxOrderIsNewThenAcknowledgedBySeverityThenNewest(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		ackHigh := h.inboxAlert(h.team, "ack high", "critical")
		newInfoOld := h.inboxAlert(h.team, "new info old", "")
		newHigh := h.inboxAlert(h.team, "new high", "high")
		newMedium := h.inboxAlert(h.team, "new medium", "warning")
		newInfo := h.inboxAlert(h.team, "new info", "info")
		ackLow := h.inboxAlert(h.team, "ack low", "low")
		closed := h.inboxAlert(h.team, "closed one", "high")
		h.act(ackHigh, "acknowledge")
		h.act(ackLow, "acknowledge")
		h.act(closed, "close")
		got := rowIDs(h.login("ann@example.com").get("/inbox").body)
		want := []string{newHigh.ID, newMedium.ID, newInfo.ID, newInfoOld.ID, ackHigh.ID, ackLow.ID}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("inbox order\n got %v\nwant %v", got, want)
		}
	})
}

func TestInboxFiltersCountsAndSearch(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		n1 := h.inboxAlert(h.team, "CPU high on web-1", "high")
		n2 := h.inboxAlert(h.team, "Backup failed", "medium")
		ack := h.inboxAlert(h.team, "Certificate expires", "low")
		cl := h.inboxAlert(h.team, "CPU high on web-2", "high")
		h.act(ack, "acknowledge")
		h.act(cl, "close")
		c := h.login("ann@example.com")
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{n1.ID, n2.ID, ack.ID}},
			{"?status=new", []string{n1.ID, n2.ID}},
			{"?status=acknowledged", []string{ack.ID}},
			{"?status=closed", []string{cl.ID}},
			{"?q=cpu+HIGH", []string{n1.ID}},
			{"?q=cpu&status=closed", []string{cl.ID}},
			{"?q=web-2", nil}, // closed: not among the open ones
			{"?q=50%25_off", nil},
		} {
			p := c.get("/inbox" + strings.ReplaceAll(tc.query, " ", "+"))
			if p.status != http.StatusOK {
				t.Fatalf("%s: %d", tc.query, p.status)
			}
			if got := rowIDs(p.body); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("%s: rows %v, want %v", tc.query, got, tc.want)
			}
		}
		// The search also finds text, not only titles.
		if got := rowIDs(c.get("/inbox?q=" + url.QueryEscape("backup failed details")).body); len(got) != 1 || got[0] != n2.ID {
			t.Errorf("search in text: %v", got)
		}
		body := html.UnescapeString(c.get("/inbox").body)
		for _, chip := range []string{"All open <span class=\"count\">3</span>", "New <span class=\"count\">2</span>",
			"Acknowledged <span class=\"count\">1</span>", "Closed <span class=\"count\">1</span>"} {
			if !strings.Contains(body, chip) {
				t.Errorf("the chips lack %q", chip)
			}
		}
		// A search counts the open alerts it finds, not the whole history.
		if body := c.get("/inbox?q=cpu").body; !strings.Contains(body, `New <span class="count">1</span>`) || !strings.Contains(body, `>Closed</a>`) {
			t.Errorf("the chips of a search count the wrong things")
		}
		if !strings.Contains(c.get("/inbox?status=new").body, `href="/inbox?status=new" aria-current="page"`) {
			t.Errorf("the current filter is not marked")
		}
		p := c.get("/inbox?status=bogus")
		if p.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(p.body), `status "bogus": use open, new, acknowledged or closed`) {
			t.Errorf("an unknown status answered %d", p.status)
		}
		if p := c.get("/inbox?cursor=garbage"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "page link is damaged") {
			t.Errorf("a damaged cursor answered %d", p.status)
		}
	})
}

func TestInboxPagesThroughEveryAlertOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		sevs := []string{"high", "medium", "low", "info"}
		want := map[string]bool{}
		for i := range 2*inboxPage + 7 {
			a := h.inboxAlert(h.team, fmt.Sprintf("alert %d", i), sevs[i%len(sevs)])
			if i%5 == 0 {
				h.act(a, "acknowledge")
			}
			want[a.ID] = true
		}
		c := h.login("ann@example.com")
		seen := map[string]bool{}
		path, pages := "/inbox", 0
		for path != "" {
			p := c.get(path)
			if p.status != http.StatusOK {
				t.Fatalf("%s: %d", path, p.status)
			}
			pages++
			ids := rowIDs(p.body)
			if len(ids) > inboxPage {
				t.Fatalf("a page has %d rows", len(ids))
			}
			for _, id := range ids {
				if seen[id] {
					t.Fatalf("alert %s is on two pages", id)
				}
				seen[id] = true
			}
			path = ""
			if m := olderRE.FindStringSubmatch(p.body); m != nil {
				path = html.UnescapeString(m[1])
				if pages > 1 && !strings.Contains(p.body, ">Newest<") {
					t.Errorf("page %d has no link to the newest", pages)
				}
			}
		}
		if pages != 3 || len(seen) != len(want) {
			t.Fatalf("%d pages showed %d alerts, want 3 pages and %d", pages, len(seen), len(want))
		}
	})
}

func TestInboxTeamFilterAndQuickAcknowledge(t *testing.T) {
	h := sqliteHarness(t)
	sec := h.secondTeam("Sec")
	ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	if _, err := h.teams.AddMember(context.Background(), sec.ID, ann.ID, team.RoleResponder); err != nil {
		t.Fatal(err)
	}
	ops := h.inboxAlert(h.team, "Ops alert", "high")
	secA := h.inboxAlert(sec, "Sec alert", "high")
	c := h.login("ann@example.com")
	p := c.get("/inbox")
	if !strings.Contains(p.body, `aria-label="Filter by team"`) || !strings.Contains(p.body, ">Sec<") {
		t.Fatalf("a member of two teams gets no team filter")
	}
	if got := rowIDs(c.get("/inbox?team=" + sec.ID).body); len(got) != 1 || got[0] != secA.ID {
		t.Fatalf("team filter: %v", got)
	}
	// The row's acknowledge button posts and comes back to the inbox.
	if !strings.Contains(p.body, `action="/alerts/`+ops.ID+`/acknowledge"`) {
		t.Fatalf("no quick acknowledge for a new alert")
	}
	r := c.post("/alerts/"+ops.ID+"/acknowledge", url.Values{"back": {"/inbox?status=new"}})
	if r.status != http.StatusSeeOther || r.location != "/inbox?status=new" {
		t.Fatalf("quick acknowledge: %d %q", r.status, r.location)
	}
	a, _ := h.alerts.Get(context.Background(), ops.ID)
	if a.Status != alert.StatusAcknowledged || a.AcknowledgedBy != "ann" {
		t.Fatalf("after the quick acknowledge the alert is %s by %q", a.Status, a.AcknowledgedBy)
	}
	p = c.get("/inbox")
	if !strings.Contains(p.body, "Acknowledged") || !strings.Contains(p.body, "acknowledged by ann") {
		t.Errorf("the row does not say who acknowledged")
	}
	if strings.Contains(p.body, `action="/alerts/`+ops.ID+`/acknowledge"`) {
		t.Errorf("an acknowledged alert still offers the acknowledge button")
	}
}

func TestInboxPartialIsTheListOnly(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	a := h.inboxAlert(h.team, "Partial alert", "high")
	p := h.login("ann@example.com").get("/inbox?partial=1&status=new")
	if p.status != http.StatusOK || strings.Contains(p.body, "<html") || !strings.Contains(p.body, a.ID) || !strings.Contains(p.body, `class="chips"`) {
		t.Fatalf("partial: %d %s", p.status, p.body)
	}
	if p.header.Get("Cache-Control") != "no-store" {
		t.Errorf("the partial may be cached")
	}
}

func TestInboxWithoutTeamsSaysWhy(t *testing.T) {
	h := sqliteHarness(t)
	h.user("loner@example.com", false)
	h.inboxAlert(h.team, "Not for loner", "high")
	p := h.login("loner@example.com").get("/inbox")
	if p.status != http.StatusOK || !strings.Contains(p.body, "You are not in a team yet") || strings.Contains(p.body, "Not for loner") {
		t.Fatalf("inbox without teams: %d", p.status)
	}
}

func TestClosedAlertsAreCountedUpToACap(t *testing.T) {
	h := sqliteHarness(t)
	for i := range 4 {
		h.act(h.inboxAlert(h.team, fmt.Sprintf("closed %d", i), "high"), "close")
	}
	h.inboxAlert(h.team, "open", "high")
	got, err := h.alerts.InboxCounts(context.Background(), nil, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got[alert.StatusClosed] != 3 || got[alert.StatusNew] != 1 {
		t.Fatalf("counts with a cap of 2: %v, want 3 closed (more than the cap) and 1 new", got)
	}
}

func TestSeverityOrderMatchesBadgeColours(t *testing.T) {
	classes := []string{"sev-high", "sev-medium", "sev-low"}
	for rank, words := range alert.SeverityWords {
		for _, w := range words {
			if got := sevClass(w); got != classes[rank] {
				t.Errorf("severity %q sorts as %s but is coloured %s", w, classes[rank], got)
			}
		}
	}
	if sevClass("whatever") != "sev-info" || alert.SeverityRank("whatever") != len(alert.SeverityWords) {
		t.Errorf("unknown severities are not info")
	}
}

// A message bundling several alerts links to /alerts: the inbox.
func TestBundleLinkOpensTheInbox(t *testing.T) {
	h := sqliteHarness(t)
	if p := h.anon().get("/alerts"); p.status != http.StatusSeeOther || p.location != "/inbox" {
		t.Fatalf("/alerts: %d %q, want a redirect to the inbox", p.status, p.location)
	}
}
