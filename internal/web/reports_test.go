package web

import (
	"context"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// reportFixture: in Ops, Mia manages and Ann and Bob respond; Olga manages
// Other. Ops has three alerts acknowledged after 1, 2 and 10 minutes and
// one nobody acknowledged; Other has one.
type reportFixture struct {
	*harness
	mia, ann, bob, olga team.User
	other               team.Team
}

func (h *harness) reportRaise(tm team.Team, title, severity string) alert.Alert {
	h.t.Helper()
	ctx := context.Background()
	out, err := h.alerts.Ingest(ctx, alert.Inbound{Team: tm, Raw: alert.Raw{Source: "webhook", ContentType: "application/json", Body: []byte(`{}`)},
		Event: &ingest.Event{Title: title, Text: "details of " + title, Severity: severity, Action: ingest.ActionNew}})
	if err != nil || out.AlertID == "" {
		h.t.Fatalf("raise %q: %v %+v", title, err, out)
	}
	a, err := h.alerts.Get(ctx, out.AlertID)
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

func newReportFixture(h *harness) *reportFixture {
	h.t.Helper()
	ctx := context.Background()
	f := &reportFixture{harness: h}
	f.mia = h.member(h.team.ID, "mia@example.com", team.RoleManager)
	f.ann = h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	f.bob = h.member(h.team.ID, "bob@example.com", team.RoleResponder)
	var err error
	if f.other, _, err = h.teams.CreateTeam(ctx, "Other", ""); err != nil {
		h.t.Fatal(err)
	}
	f.olga = h.member(f.other.ID, "olga@example.com", team.RoleManager)
	any := func(string) bool { return true }
	for i, d := range []time.Duration{time.Minute, 2 * time.Minute, 10 * time.Minute} {
		a := h.reportRaise(h.team, []string{"=SUM(A1) disk", "cpu", "net"}[i], []string{"critical", "high", "low"}[i])
		h.clock.Advance(d)
		who := f.ann
		if i == 2 {
			who = f.bob
		}
		if _, err := h.alerts.Transition(ctx, a.ID, "acknowledge", alert.UserActor(who), "", any); err != nil {
			h.t.Fatal(err)
		}
		h.clock.Advance(time.Hour)
	}
	h.reportRaise(h.team, "nobody came", "warning")
	h.reportRaise(f.other, "secret of Other", "high")
	return f
}

func TestReportsPage(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		newReportFixture(h)
		p := h.login("mia@example.com").get("/reports")
		if p.status != http.StatusOK {
			t.Fatalf("reports: %d %s", p.status, p.body)
		}
		// Team: 4 alerts, 3 acknowledged (p50 2 min, p90 10 min), 1 not.
		team := `<tr><td>Ops</td><td class="num">4</td><td class="num">3</td><td class="num">1</td><td class="num nowrap">2 min</td><td class="num nowrap">10 min</td></tr>`
		ann := `<td>ann</td><td class="num">2</td><td class="num nowrap">1 min</td><td class="num nowrap">2 min</td>`
		bob := `<td>bob</td><td class="num">1</td><td class="num nowrap">10 min</td><td class="num nowrap">10 min</td>`
		// The week of 30 Mar: 4 alerts, 2 high (critical, high), 1 medium, 1 low.
		week := `<td class="nowrap">30 Mar 2026</td><td class="num"><strong>4</strong></td><td class="num">2</td><td class="num">1</td><td class="num">1</td><td class="num">0</td>`
		for _, want := range []string{team, ann, bob, week, `<td class="nowrap">12 Jan 2026</td>`, `/reports/alerts.csv?from=2026-01-12&amp;to=2026-03-30`} {
			if !strings.Contains(p.body, want) {
				t.Errorf("the report lacks %s", want)
			}
		}
		if strings.Contains(p.body, "Other") {
			t.Error("a manager of Ops sees the team Other in reports")
		}
		// A period without the alerts.
		p = h.login("mia@example.com").get("/reports?from=2026-01-01&to=2026-01-31")
		if p.status != http.StatusOK || !strings.Contains(p.body, "No alerts in this period") {
			t.Errorf("an empty period: %d", p.status)
		}
		if p := h.login("mia@example.com").get("/reports?from=2026-03-01&to=2026-02-01"); p.status != http.StatusBadRequest || !strings.Contains(p.body, "ends (2026-02-01) before it begins") {
			t.Errorf("a backward period: %d", p.status)
		}
	})
}

func readCSV(t *testing.T, p page) [][]string {
	t.Helper()
	if p.status != http.StatusOK {
		t.Fatalf("csv: %d %s", p.status, p.body)
	}
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("content type %q", ct)
	}
	if cd := p.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") || !strings.Contains(cd, ".csv") {
		t.Errorf("content disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(p.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestReportsCSV(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		f := newReportFixture(h)
		now := h.clock.Now()
		if _, err := h.duty.AddShifts(context.Background(), h.team.ID, []duty.PlannedShift{{UserID: f.ann.ID, Tier: 1, Start: now.Add(time.Hour), End: now.Add(9 * time.Hour)}}, false); err != nil {
			t.Fatal(err)
		}
		c := h.login("mia@example.com")
		rows := readCSV(t, c.get("/reports/alerts.csv"))
		if got := strings.Join(rows[0], ","); got != "alert_id,team,title,severity,alert_created_utc,entry_at_utc,kind,actor,text" {
			t.Errorf("header %q", got)
		}
		kinds := map[string]int{}
		for _, r := range rows[1:] {
			if r[1] != "Ops" || strings.Contains(r[2], "Other") {
				t.Fatalf("a row of another team: %q", r)
			}
			if r[2] == "=SUM(A1) disk" {
				t.Errorf("a formula went out unescaped: %q", r)
			}
			kinds[r[6]]++
			if r[6] == "acknowledged" && r[7] != "ann" && r[7] != "bob" {
				t.Errorf("acknowledged by %q", r[7])
			}
		}
		if rows[1][2] != "'=SUM(A1) disk" || rows[1][3] != "critical" || rows[1][4] != "2026-03-30T09:00:00Z" || rows[1][6] != "created" {
			t.Errorf("first row %q", rows[1])
		}
		if kinds["created"] != 4 || kinds["acknowledged"] != 3 {
			t.Errorf("entries by kind %v, want 4 created and 3 acknowledged", kinds)
		}

		rows = readCSV(t, c.get("/reports/shifts.csv?team="+h.team.ID))
		if got := strings.Join(rows[0], ","); got != "team,member,email,tier,source,start_utc,end_utc,hours,duration" {
			t.Errorf("header %q", got)
		}
		start := now.Add(time.Hour).UTC().Format(time.RFC3339)
		if len(rows) != 2 || strings.Join(rows[1], ",") != "Ops,ann,ann@example.com,1,shift,"+start+","+now.Add(9*time.Hour).UTC().Format(time.RFC3339)+",8.00,8 h" {
			t.Errorf("shift rows %q", rows)
		}
		if p := c.get("/reports/alerts.csv?team=" + f.other.ID); p.status != http.StatusNotFound {
			t.Errorf("another team's audit trail: %d", p.status)
		}
	})
}

func TestReportsRoles(t *testing.T) {
	h := sqliteHarness(t)
	f := newReportFixture(h)
	ann := h.login("ann@example.com")
	for _, path := range []string{"/reports", "/reports/alerts.csv", "/reports/shifts.csv"} {
		if p := ann.get(path); p.status != http.StatusForbidden {
			t.Errorf("a responder got %s: %d", path, p.status)
		}
	}
	// Olga manages Other and responds in Ops: Ops is hers to see, not to report on.
	if _, err := h.teams.AddMember(context.Background(), h.team.ID, f.olga.ID, team.RoleResponder); err != nil {
		t.Fatal(err)
	}
	olga := h.login("olga@example.com")
	if p := olga.get("/reports?team=" + h.team.ID); p.status != http.StatusForbidden {
		t.Errorf("a responder of Ops reported on it: %d", p.status)
	}
	if p := h.login("mia@example.com").get("/reports?team=" + f.other.ID); p.status != http.StatusNotFound {
		t.Errorf("a manager of Ops reported on Other: %d", p.status)
	}
	p := olga.get("/reports")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Other") || strings.Contains(p.body, "<td>Ops</td>") {
		t.Errorf("Olga's reports should cover Other only: %d", p.status)
	}
	p = h.login("admin@example.com").get("/reports")
	if p.status != http.StatusOK || !strings.Contains(p.body, "<td>Ops</td>") || !strings.Contains(p.body, "<td>Other</td>") {
		t.Errorf("an admin's reports should cover every team: %d", p.status)
	}
}

// TestReportsAuditTrailStreams writes an audit trail of 100,000 rows.
func TestReportsAuditTrailStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	h := sqliteHarness(t)
	f := newReportFixture(h)
	a := h.reportRaise(h.team, "noisy", "low")
	const n = 100_000
	// One statement makes the rows: SQLite then spends its time on them,
	// not on a round trip each.
	_, err := h.db.Exec(context.Background(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO timeline (alert_id, at, kind, actor_type, actor_id, actor_name, text) SELECT ?, ?, 'annotated', 'user', ?, 'ann', '-note ' || i FROM n`,
		n, a.ID, store.Micros(h.clock.Now()), f.ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	rows := readCSV(t, h.login("mia@example.com").get("/reports/alerts.csv"))
	notes := 0
	for _, r := range rows {
		if r[6] == "annotated" {
			notes++
			if !strings.HasPrefix(r[8], "'-note") {
				t.Fatalf("unescaped %q", r[8])
			}
		}
	}
	if notes != n {
		t.Errorf("%d annotations in the CSV, want %d", notes, n)
	}
	t.Logf("%d rows in %v", len(rows), time.Since(t0))
}

func TestReportDurationAndCells(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Second: "10 s", 4*time.Minute + 10*time.Second: "4 min 10 s", 2 * time.Minute: "2 min",
		time.Hour + 5*time.Minute + 3*time.Second: "1 h 5 min", 51 * time.Hour: "2 d 3 h", 0: "0 s",
	} {
		if got := reportDuration(d); got != want {
			t.Errorf("reportDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for in, want := range map[string]string{"=1+1": "'=1+1", "+1": "'+1", "-1": "'-1", "@SUM": "'@SUM", "\tx": "'\tx", "\rx": "'\rx", "a=b": "a=b", "": ""} {
		if got := reportCell(in); got != want {
			t.Errorf("reportCell(%q) = %q, want %q", in, got, want)
		}
	}
}
