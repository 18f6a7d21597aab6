package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

// dutyOf returns the tiers at which the user is on duty for the team now.
func dutyOf(t *testing.T, h *harness, teamID, userID string) []int {
	t.Helper()
	st, err := h.duty.StatusAt(context.Background(), teamID, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	var tiers []int
	for _, o := range st.OnDuty {
		if o.UserID == userID {
			tiers = append(tiers, o.Tier)
		}
	}
	return tiers
}

func TestPunchInAndOutChangesDuty(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		c := h.login("ann@example.com")
		p := c.get("/duty")
		if p.status != http.StatusOK || !strings.Contains(p.body, "Off duty") || !strings.Contains(p.body, `action="/duty/`+h.team.ID+`/punch-in"`) {
			t.Fatalf("duty page before punching in: %d\n%s", p.status, p.body)
		}
		if p := c.post("/duty/"+h.team.ID+"/punch-in", nil); p.status != http.StatusSeeOther || p.location != "/duty" {
			t.Fatalf("punch in: %d %q %s", p.status, p.location, p.body)
		}
		if got := dutyOf(t, h, h.team.ID, ann.ID); len(got) != 1 || got[0] != 1 {
			t.Fatalf("after punching in ann is on duty at tiers %v, want [1]", got)
		}
		p = c.get("/duty")
		for _, want := range []string{"On duty in 1 team", "You are on duty for Ops as primary.", "Punch out", "Switch to manager", "punched in"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("duty page after punching in lacks %q", want)
			}
		}
		c.post("/duty/"+h.team.ID+"/punch-in", url.Values{"manager": {"1"}})
		if got := dutyOf(t, h, h.team.ID, ann.ID); len(got) != 1 || got[0] != duty.ManagerTier {
			t.Fatalf("after switching to manager ann is on duty at tiers %v, want [manager]", got)
		}
		if p := c.post("/duty/"+h.team.ID+"/punch-out", nil); p.status != http.StatusSeeOther {
			t.Fatalf("punch out: %d %s", p.status, p.body)
		}
		if got := dutyOf(t, h, h.team.ID, ann.ID); len(got) != 0 {
			t.Fatalf("after punching out ann is on duty at tiers %v", got)
		}
		if p := c.post("/duty/"+h.team.ID+"/punch-out", nil); p.status != http.StatusConflict || !strings.Contains(p.body, "not punched in to Ops") {
			t.Fatalf("punching out twice: %d, want 409 saying so", p.status)
		}
	})
}

func TestPunchIsRefusedOutsideMyTeams(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	bob := h.member(h.team.ID, "bob@example.com", team.RoleResponder)
	other, _, err := h.teams.CreateTeam(context.Background(), "Secret", "")
	if err != nil {
		t.Fatal(err)
	}
	carl := h.member(other.ID, "carl@example.com", team.RoleResponder)
	c := h.login("ann@example.com")
	for _, action := range []string{"punch-in", "punch-out"} {
		if p := c.post("/duty/"+other.ID+"/"+action, nil); p.status != http.StatusNotFound {
			t.Errorf("%s in a team ann is not in: %d, want 404", action, p.status)
		}
	}
	if p := c.post("/duty/"+other.ID+"/punch-in", url.Values{"userId": {carl.ID}}); p.status != http.StatusNotFound {
		t.Errorf("punching in a member of another team: %d, want 404", p.status)
	}
	if got := dutyOf(t, h, other.ID, carl.ID); len(got) != 0 {
		t.Fatalf("carl was put on duty by an outsider: %v", got)
	}
	if p := c.post("/duty/"+h.team.ID+"/punch-in", url.Values{"userId": {bob.ID}}); p.status != http.StatusForbidden {
		t.Errorf("a responder punching in a teammate: %d, want 403", p.status)
	}
	if got := dutyOf(t, h, h.team.ID, bob.ID); len(got) != 0 {
		t.Fatalf("a responder put bob on duty: %v", got)
	}
	h.member(h.team.ID, "mia@example.com", team.RoleManager)
	if p := h.login("mia@example.com").post("/duty/"+h.team.ID+"/punch-in", url.Values{"userId": {bob.ID}}); p.status != http.StatusSeeOther {
		t.Fatalf("a manager punching in a member: %d %s", p.status, p.body)
	}
	if got := dutyOf(t, h, h.team.ID, bob.ID); len(got) != 1 {
		t.Fatalf("the manager's punch did not put bob on duty: %v", got)
	}
}

func TestDutyPageShowsWhoIsOnDutyAndMyNextShift(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		bob := h.member(h.team.ID, "bob@example.com", team.RoleResponder)
		berlin := "Europe/Berlin"
		if _, err := h.teams.UpdateUser(ctx, ann.ID, team.UserPatch{TimeZone: &berlin}); err != nil {
			t.Fatal(err)
		}
		now := h.clock.Now() // Monday 30 March 2026, 09:00 UTC
		tomorrow := now.Add(24 * time.Hour)
		if _, err := h.duty.AddShifts(ctx, h.team.ID, []duty.PlannedShift{
			{UserID: bob.ID, Tier: 1, Start: now, End: now.Add(8 * time.Hour)},
			{UserID: ann.ID, Tier: 2, Start: tomorrow, End: tomorrow.Add(8 * time.Hour)},
		}, false); err != nil {
			t.Fatal(err)
		}
		p := h.login("ann@example.com").get("/duty")
		if p.status != http.StatusOK {
			t.Fatalf("duty page: %d", p.status)
		}
		others := dutyBetween(p.body, "Also on duty now", "Your shifts")
		if !strings.Contains(others, ">bob<") || !strings.Contains(others, "Primary") {
			t.Errorf("who else is on duty does not show bob as primary:\n%s", others)
		}
		// In Berlin (summer time since 29 March) the shift starts at 11:00.
		mine := dutyBetween(p.body, "Your shifts", "</section>")
		if !strings.Contains(mine, "Tue 31 Mar 11:00") || !strings.Contains(mine, "Tue 31 Mar 19:00") || !strings.Contains(mine, "Tier 2") {
			t.Errorf("ann's shift tomorrow is not listed in her time zone:\n%s", mine)
		}
		if !strings.Contains(p.body, "Off duty") || strings.Contains(p.body, "On duty in") {
			t.Errorf("ann is not on duty now, the page says otherwise")
		}
		h.clock.Advance(25 * time.Hour)
		p = h.login("ann@example.com").get("/duty")
		if !strings.Contains(p.body, "On duty in 1 team") || !strings.Contains(dutyBetween(p.body, "Your shifts", "</section>"), ">now<") {
			t.Errorf("during her shift the page does not say ann is on duty")
		}
	})
}

// dutyBetween returns the part of s after the first from and before the next
// to (or the rest of s).
func dutyBetween(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	before, _, _ := strings.Cut(after, to)
	return before
}
