package web

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

// plannerFixture is a team with a manager in Berlin and three responders.
type plannerFixture struct {
	*harness
	mia, ann, bob, carl team.User
	berlin              *time.Location
}

func newPlannerFixture(h *harness) *plannerFixture {
	h.t.Helper()
	f := &plannerFixture{harness: h}
	f.mia = h.member(h.team.ID, "mia@example.com", team.RoleManager)
	tz := "Europe/Berlin"
	if _, err := h.teams.UpdateUser(context.Background(), f.mia.ID, team.UserPatch{TimeZone: &tz}); err != nil {
		h.t.Fatal(err)
	}
	f.berlin, _ = time.LoadLocation(tz)
	f.ann = h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	f.bob = h.member(h.team.ID, "bob@example.com", team.RoleResponder)
	f.carl = h.member(h.team.ID, "carl@example.com", team.RoleResponder)
	return f
}

// berlinTime is a wall-clock time in Berlin (CEST, UTC+2, in the test week).
func (f *plannerFixture) at(day, hour int) time.Time {
	return time.Date(2026, 3, day, hour, 0, 0, 0, f.berlin)
}

// plannerColumn returns the desktop grid's column for the day labelled label.
func plannerColumn(t *testing.T, body, label string) string {
	t.Helper()
	i := strings.Index(body, `<section class="pl-day`)
	j := strings.Index(body[max(i, 0):], `aria-label="`+label+`"`)
	if i < 0 || j < 0 {
		t.Fatalf("no day column %q in the planner", label)
	}
	s := body[i+j:]
	return s[:strings.Index(s, "</section>")]
}

func TestPlannerShowsTheResolvedWeek(t *testing.T) {
	h := sqliteHarness(t) // the clock stands at Mon 30 Mar 2026 09:00 UTC
	f := newPlannerFixture(h)
	ctx := context.Background()
	if _, err := h.duty.AddShifts(ctx, h.team.ID, []duty.PlannedShift{{UserID: f.ann.ID, Tier: 1, Start: f.at(31, 8), End: f.at(31, 16)}}, false); err != nil {
		t.Fatal(err)
	}
	// Bob and Carl take turns at tier 2, handing over daily at 20:00 Berlin.
	if _, err := h.duty.CreateRotation(ctx, h.team.ID, duty.NewRotation{Name: "Nights", Tier: 2, TimeZone: "Europe/Berlin", Start: f.at(30, 20),
		Length: 1, Unit: duty.Days, Participants: []string{f.bob.ID, f.carl.ID}}); err != nil {
		t.Fatal(err)
	}
	// Ann covers Bob's Wednesday night shift from 23:00 to 04:00.
	if _, err := h.duty.CreateOverride(ctx, h.team.ID, duty.StoredOverride{FromUser: f.bob.ID, ToUser: f.ann.ID, Start: f.at(32, 23), End: f.at(33, 4)}); err != nil {
		t.Fatal(err)
	}
	c := h.login("mia@example.com")
	p := c.get("/teams/" + h.team.ID + "/planner?week=2026-04-01")
	if p.status != http.StatusOK {
		t.Fatalf("planner: %d %s", p.status, p.body)
	}
	for _, want := range []string{"Week of 30 Mar – 5 Apr 2026", "<strong>Europe/Berlin</strong>", "?week=2026-03-23", "?week=2026-04-06", "Nights", "bob → carl"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the planner lacks %q", want)
		}
	}
	tue := plannerColumn(t, p.body, "Tue 31 Mar")
	if !strings.Contains(tue, "<strong>ann</strong>") || !strings.Contains(tue, "08:00–16:00") || !strings.Contains(tue, `draggable="true"`) {
		t.Errorf("Tuesday does not show Ann's shift 08:00–16:00 Berlin time, movable:\n%s", tue)
	}
	// The rotation: Bob from Monday 20:00, Carl from Tuesday 20:00, Bob
	// again from Wednesday 20:00 (but Ann covers from 23:00).
	if !strings.Contains(tue, "<strong>carl</strong>") || !strings.Contains(tue, "20:00–…") {
		t.Errorf("Tuesday does not show Carl's rotation shift from 20:00:\n%s", tue)
	}
	wed := plannerColumn(t, p.body, "Wed 1 Apr")
	if !strings.Contains(wed, "pl-override") || !strings.Contains(wed, "for bob") || !strings.Contains(wed, "23:00–…") || !strings.Contains(wed, "20:00–23:00") {
		t.Errorf("Wednesday does not show Bob until 23:00 and Ann covering him after:\n%s", wed)
	}
	if mon := plannerColumn(t, p.body, "Mon 30 Mar"); strings.Contains(mon, "carl") || !strings.Contains(mon, "<strong>bob</strong>") {
		t.Errorf("Monday should show Bob's first rotation shift only:\n%s", mon)
	}
	if fri := plannerColumn(t, p.body, "Fri 3 Apr"); !strings.Contains(fri, "pl-rotation") {
		t.Errorf("Friday shows no rotation block:\n%s", fri)
	}
	if !strings.Contains(p.body, `class="pl-list"`) {
		t.Error("no per-day list for phones")
	}
}

func TestPlannerForms(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		f := newPlannerFixture(h)
		ctx := context.Background()
		c := h.login("mia@example.com")
		base := "/teams/" + h.team.ID + "/planner"
		week := time.Date(2026, 3, 30, 0, 0, 0, 0, f.berlin)

		p := c.post(base+"/shifts", url.Values{"tier": {"1"}, "user": {f.ann.ID}, "start": {"2026-03-31T08:00"}, "end": {"2026-03-31T16:00"}, "week": {"2026-03-30"}})
		if p.status != http.StatusSeeOther || p.location != base+"?week=2026-03-30" {
			t.Fatalf("add shift: %d %q %s", p.status, p.location, p.body)
		}
		shifts, _ := h.duty.Shifts(ctx, h.team.ID, week, week.AddDate(0, 0, 7))
		if len(shifts) != 1 || !shifts[0].Start.Equal(time.Date(2026, 3, 31, 6, 0, 0, 0, time.UTC)) || shifts[0].UserID != f.ann.ID {
			t.Fatalf("the form's 08:00 Berlin should be 06:00 UTC: %+v", shifts)
		}
		if p := c.get(base + "?week=2026-03-30"); !strings.Contains(p.body, "Shift added") {
			t.Error("no message after adding a shift")
		}

		// Move it by form, then by the drag script's JSON call.
		id := shifts[0].ID
		if p := c.post(base+"/shifts/"+id+"/move", url.Values{"start": {"2026-04-01T10:00"}}); p.status != http.StatusSeeOther {
			t.Fatalf("move: %d %s", p.status, p.body)
		}
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+base+"/shifts/"+id+"/move",
			strings.NewReader(url.Values{"start": {"2026-04-02T12:30"}, "_csrf": {c.csrf}, "week": {"2026-03-30"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if p := c.do(req); p.status != http.StatusOK || !strings.Contains(p.body, `"redirect":"`+base+`?week=2026-03-30"`) {
			t.Fatalf("move by script: %d %s", p.status, p.body)
		}
		shifts, _ = h.duty.Shifts(ctx, h.team.ID, week, week.AddDate(0, 0, 7))
		if len(shifts) != 1 || shifts[0].ID != id || !shifts[0].Start.Equal(time.Date(2026, 4, 2, 10, 30, 0, 0, time.UTC)) || shifts[0].End.Sub(shifts[0].Start) != 8*time.Hour {
			t.Fatalf("after moving, the shift should start 2 Apr 10:30 UTC and last 8 h: %+v", shifts)
		}
		if p := c.post(base+"/shifts/"+id+"/move", url.Values{"start": {"2026-03-01T10:00"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "in the past") {
			t.Errorf("moving into the past: %d", p.status)
		}
		if p := c.post(base+"/shifts", url.Values{"tier": {"1"}, "user": {f.ann.ID}, "start": {"tomorrow"}, "end": {"2026-03-31T16:00"}}); p.status != http.StatusBadRequest ||
			!strings.Contains(p.body, "start &#34;tomorrow&#34;: enter a date and time") {
			t.Errorf("a wrong start: %d %s", p.status, p.body)
		}
		if p := c.post(base+"/shifts/"+id+"/delete", url.Values{"week": {"2026-03-30"}}); p.status != http.StatusSeeOther {
			t.Fatalf("delete shift: %d %s", p.status, p.body)
		}
		if shifts, _ = h.duty.Shifts(ctx, h.team.ID, week, week.AddDate(0, 0, 7)); len(shifts) != 0 {
			t.Fatalf("the shift was not deleted: %+v", shifts)
		}

		// A shift that has begun cannot be moved.
		begun, err := h.duty.AddShifts(ctx, h.team.ID, []duty.PlannedShift{{UserID: f.bob.ID, Tier: 1, Start: h.clock.Now(), End: h.clock.Now().Add(time.Hour)}}, false)
		if err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Minute)
		if p := c.post(base+"/shifts/"+begun[0].ID+"/move", url.Values{"start": {"2026-04-02T12:30"}}); p.status != http.StatusConflict {
			t.Errorf("moving a shift that has begun: %d", p.status)
		}

		p = c.post(base+"/overrides", url.Values{"to_user": {f.carl.ID}, "from_user": {f.ann.ID}, "tier": {"1"}, "start": {"2026-04-01T00:00"}, "end": {"2026-04-02T00:00"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("add override: %d %s", p.status, p.body)
		}
		ovs, _ := h.duty.Overrides(ctx, h.team.ID, week, week.AddDate(0, 0, 7))
		if len(ovs) != 1 || ovs[0].FromUser != f.ann.ID || ovs[0].ToUser != f.carl.ID || !ovs[0].Start.Equal(time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC)) {
			t.Fatalf("override: %+v", ovs)
		}
		if p := c.get(base + "?week=2026-03-30"); !strings.Contains(p.body, "carl covers for ann") {
			t.Error("the override list does not say who covers for whom")
		}
		if p := c.post(base+"/overrides/"+ovs[0].ID+"/delete", nil); p.status != http.StatusSeeOther {
			t.Fatalf("delete override: %d %s", p.status, p.body)
		}
		if ovs, _ = h.duty.Overrides(ctx, h.team.ID, week, week.AddDate(0, 0, 7)); len(ovs) != 0 {
			t.Fatalf("the override was not deleted: %+v", ovs)
		}

		p = c.post(base+"/rotations", url.Values{"name": {"Weekly"}, "tier": {"2"}, "participant1": {f.carl.ID}, "participant2": {""}, "participant3": {f.ann.ID},
			"length": {"1"}, "unit": {"weeks"}, "timezone": {"Europe/Berlin"}, "start": {"2026-04-06T09:00"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("create rotation: %d %s", p.status, p.body)
		}
		rots, _ := h.duty.Rotations(ctx, h.team.ID)
		if len(rots) != 1 || rots[0].Tier != 2 || len(rots[0].Participants) != 2 || rots[0].Participants[0] != f.carl.ID ||
			!rots[0].Start.Equal(time.Date(2026, 4, 6, 7, 0, 0, 0, time.UTC)) {
			t.Fatalf("rotation: %+v", rots)
		}
		if p := c.post(base+"/rotations", url.Values{"tier": {"1"}, "participant1": {f.carl.ID}, "length": {"1"}, "unit": {"weeks"}, "timezone": {"Mars/Olympus"}, "start": {"2026-04-06T09:00"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "IANA") {
			t.Errorf("a wrong time zone: %d", p.status)
		}
		if p := c.post(base+"/rotations/"+rots[0].ID+"/end", nil); p.status != http.StatusSeeOther {
			t.Fatalf("end rotation: %d %s", p.status, p.body)
		}
		if rots, _ = h.duty.Rotations(ctx, h.team.ID); len(rots) != 0 {
			t.Fatalf("a rotation that had not begun should be gone: %+v", rots)
		}
	})
}

func TestPlannerRoles(t *testing.T) {
	h := sqliteHarness(t)
	f := newPlannerFixture(h)
	other, _, err := h.teams.CreateTeam(context.Background(), "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	h.member(other.ID, "olga@example.com", team.RoleManager)
	base := "/teams/" + h.team.ID + "/planner"
	shift := url.Values{"tier": {"1"}, "user": {f.ann.ID}, "start": {"2026-03-31T08:00"}, "end": {"2026-03-31T16:00"}}

	ann := h.login("ann@example.com")
	if p := ann.get(base); p.status != http.StatusForbidden {
		t.Errorf("a responder opened the planner: %d", p.status)
	}
	if p := ann.post(base+"/shifts", maps.Clone(shift)); p.status != http.StatusForbidden {
		t.Errorf("a responder added a shift: %d", p.status)
	}
	olga := h.login("olga@example.com")
	if p := olga.get(base); p.status != http.StatusNotFound {
		t.Errorf("another team's manager opened the planner: %d", p.status)
	}
	if p := olga.post(base+"/shifts", maps.Clone(shift)); p.status != http.StatusNotFound {
		t.Errorf("another team's manager added a shift: %d %s", p.status, p.body)
	}
	ws := time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC)
	if shifts, _ := h.duty.Shifts(context.Background(), h.team.ID, ws, ws.AddDate(0, 0, 7)); len(shifts) != 0 {
		t.Fatalf("a refused form changed the plan: %+v", shifts)
	}
	admin := h.login("admin@example.com")
	if p := admin.get(base); p.status != http.StatusOK {
		t.Errorf("an admin could not open the planner: %d", p.status)
	}
	if p := admin.get("/teams/no-such-team/planner"); p.status != http.StatusNotFound {
		t.Errorf("a planner of no team: %d", p.status)
	}
}

// TestPlannerWeekAcrossDaylightSaving lays out the week in which Berlin
// moves its clocks forward (Sunday 29 March 2026 has 23 hours): a daily
// 08:00 handoff stays at 08:00 and every block stays inside its day.
func TestPlannerWeekAcrossDaylightSaving(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	start := plannerWeekStart("2026-03-26", now, berlin)
	if start.Format(time.DateTime) != "2026-03-23 00:00:00" {
		t.Fatalf("week of Thursday 26 March starts %v", start)
	}
	end := start.AddDate(0, 0, 7)
	rot := duty.Rotation{Tier: 1, Location: berlin, Start: time.Date(2026, 3, 1, 8, 0, 0, 0, berlin), Length: 1, Unit: duty.Days, Participants: []string{"a", "b"}}
	w := plannerWeek{Start: start, End: end, location: berlin, now: now, name: func(id string) string { return id }, color: func(string) int { return 0 }}
	w.layout(plannerResolve(duty.Plan{Rotations: []duty.Rotation{rot}}, start, end))
	if len(w.Days) != 7 {
		t.Fatalf("%d days", len(w.Days))
	}
	sun := w.Days[6]
	if sun.Label != "Sun 29 Mar" || len(sun.Blocks) != 2 {
		t.Fatalf("Sunday: %+v", sun)
	}
	if b := sun.Blocks[1]; b.Time != "08:00–00:00" || b.Row != 17 || b.RowEnd != plannerRows+1 {
		t.Errorf("Sunday's second block %+v, want from 08:00 (row 17) to the end of the day", b)
	}
	for _, d := range w.Days {
		for _, b := range d.Blocks {
			if b.Row < 1 || b.RowEnd > plannerRows+1 || b.RowEnd <= b.Row || b.Lane != 1 || d.Lanes != 1 {
				t.Errorf("%s: block %+v out of the grid", d.Label, b)
			}
		}
	}
}
