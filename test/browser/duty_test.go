package browser_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

// A member punches in and out on the duty page; the page and who the
// planner says is on duty change together.
func TestPunchInAndOutOnTheDutyPage(t *testing.T) {
	s := startSite(t)
	ann := s.member("ann@example.com", team.RoleResponder)
	b := s.open(t)
	b.login("ann@example.com")
	b.goTo("/duty")
	b.waitText("Off duty")
	if onDuty(t, s, ann.ID) {
		t.Fatal("ann is on duty before punching in")
	}

	b.clickButton("Punch in")
	b.waitJS("the on-duty status", `!!document.querySelector("#team-`+s.team.ID+` .pill.on")`)
	b.waitText("Punch out")
	if !onDuty(t, s, ann.ID) {
		t.Fatal("the page says on duty, the planner does not")
	}

	b.clickButton("Punch out")
	b.waitJS("the off-duty status", `!!document.querySelector("#team-`+s.team.ID+` .pill.off")`)
	b.waitText("Punch in")
	if onDuty(t, s, ann.ID) {
		t.Fatal("ann is still on duty after punching out")
	}
}

func onDuty(t *testing.T, s *site, userID string) bool {
	t.Helper()
	st, err := s.a.Duty.StatusAt(context.Background(), s.team.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(st.OnDuty, func(o duty.OnDuty) bool { return o.UserID == userID })
}
