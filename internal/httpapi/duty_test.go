package httpapi_test

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

func TestDutyThroughTheAPI(t *testing.T) {
	e := sqliteEnv(t) // the fake clock stands at 2026-03-29 00:30 UTC
	ann, annKey := e.user("ann@example.com", e.team.ID, team.RoleResponder)
	bob, _ := e.user("bob@example.com", e.team.ID, team.RoleResponder)
	_, mgrKey := e.user("mgr@example.com", e.team.ID, team.RoleManager)
	base := "/api/v1/teams/" + e.team.ID

	status := func(query string) duty.Status {
		t.Helper()
		r := e.api("GET", base+"/duty"+query, annKey, nil)
		if r.status != 200 {
			t.Fatalf("duty status: %d %s", r.status, r.body)
		}
		var st duty.Status
		json.Unmarshal(r.body, &st)
		return st
	}

	// A responder punches in and out; planning needs a manager.
	if r := e.api("POST", base+"/duty/punch-in", annKey, nil); r.status != 200 || !strings.Contains(string(r.body), ann.ID) {
		t.Fatalf("punch in: %d %s", r.status, r.body)
	}
	if r := e.api("POST", base+"/duty/punch-in", annKey, map[string]any{"userId": bob.ID}); r.status != 403 {
		t.Fatalf("responder punching another member in: %d", r.status)
	}
	if r := e.api("POST", base+"/duty/punch-in", mgrKey, map[string]any{"userId": bob.ID, "manager": true}); r.status != 200 {
		t.Fatalf("manager punching bob in: %d %s", r.status, r.body)
	}
	e.clock.Advance(time.Minute)
	st := status("")
	if len(st.OnDuty) != 2 || st.OnDuty[0].UserID != ann.ID || st.OnDuty[0].Tier != 1 || st.OnDuty[1].UserID != bob.ID || st.OnDuty[1].Tier != duty.ManagerTier {
		t.Fatalf("on duty %+v", st.OnDuty)
	}
	if r := e.api("POST", base+"/duty/punch-out", annKey, nil); r.status != 200 {
		t.Fatalf("punch out: %d", r.status)
	}
	if r := e.api("POST", base+"/duty/punch-out", annKey, nil); r.status != 409 {
		t.Fatalf("second punch out: %d", r.status)
	}

	// A daily rotation at 08:00 Berlin across the DST change of 2026-03-29.
	rot := map[string]any{"name": "primary", "tier": 1, "timeZone": "Europe/Berlin", "start": "2026-03-28T07:00:00Z",
		"length": 1, "unit": "days", "participants": []string{ann.ID, bob.ID}}
	if r := e.api("POST", base+"/rotations", annKey, rot); r.status != 403 {
		t.Fatalf("responder creating a rotation: %d", r.status)
	}
	r := e.api("POST", base+"/rotations", mgrKey, rot)
	if r.status != 201 {
		t.Fatalf("create rotation: %d %s", r.status, r.body)
	}
	for _, bad := range []map[string]any{
		{"tier": 1, "timeZone": "Nowhere/City", "start": "2026-03-28T07:00:00Z", "length": 1, "unit": "days", "participants": []string{ann.ID}},
		{"tier": 1, "timeZone": "UTC", "start": "2026-03-28T07:00:00Z", "length": 0, "unit": "days", "participants": []string{ann.ID}},
		{"tier": 1, "timeZone": "UTC", "start": "2026-03-28T07:00:00Z", "length": 1, "unit": "days", "participants": []string{"someone-else"}},
	} {
		if r := e.api("POST", base+"/rotations", mgrKey, bad); r.status != 400 || !strings.Contains(string(r.body), "message") {
			t.Errorf("bad rotation %v: %d %s", bad, r.status, r.body)
		}
	}
	// 08:00 Berlin is 06:00 UTC from the 29th on (summer time).
	st = status("?at=2026-03-29T07:00:00Z")
	if len(st.OnDuty) != 2 || st.OnDuty[0].UserID != bob.ID || !st.OnDuty[0].Since.Equal(time.Date(2026, 3, 29, 6, 0, 0, 0, time.UTC)) {
		t.Fatalf("rotation at 07:00Z: %+v", st.OnDuty)
	}
	if len(st.Handoffs) == 0 || !st.Handoffs[0].At.Equal(time.Date(2026, 3, 30, 6, 0, 0, 0, time.UTC)) {
		t.Fatalf("next handoff %+v", st.Handoffs)
	}

	// Shifts: past ones are refused, overlapping ones can replace.
	shift := func(user string, from, to string) map[string]any {
		return map[string]any{"userId": user, "tier": 2, "start": from, "end": to}
	}
	if r := e.api("POST", base+"/shifts", mgrKey, []any{shift(ann.ID, "2026-03-28T00:00:00Z", "2026-03-28T06:00:00Z")}); r.status != 400 || !strings.Contains(string(r.body), "past") {
		t.Fatalf("past shift: %d %s", r.status, r.body)
	}
	r = e.api("POST", base+"/shifts", mgrKey, []any{shift(ann.ID, "2026-03-30T00:00:00Z", "2026-03-31T00:00:00Z")})
	if r.status != 201 {
		t.Fatalf("shift: %d %s", r.status, r.body)
	}
	if r := e.api("POST", base+"/shifts?overrideExisting=true", mgrKey, []any{shift(bob.ID, "2026-03-30T10:00:00Z", "2026-03-30T12:00:00Z")}); r.status != 201 {
		t.Fatalf("replacing shift: %d %s", r.status, r.body)
	}
	r = e.api("GET", base+"/shifts?from=2026-03-30T00:00:00Z&to=2026-03-31T00:00:00Z", annKey, nil)
	var shifts struct{ Items []duty.PlannedShift }
	json.Unmarshal(r.body, &shifts)
	if len(shifts.Items) != 3 {
		t.Fatalf("shifts after replace: %s", r.body)
	}

	// A shift without a tier is tier 1, never the manager tier.
	r = e.api("POST", base+"/shifts", mgrKey, []any{map[string]any{"userId": ann.ID, "start": "2026-04-02T00:00:00Z", "end": "2026-04-02T01:00:00Z"}})
	if r.status != 201 || !strings.Contains(string(r.body), `"tier":1`) {
		t.Fatalf("shift without tier: %d %s", r.status, r.body)
	}

	// An override covers ann for two hours; the report shows it.
	if r := e.api("POST", base+"/overrides", mgrKey, map[string]any{"fromUser": ann.ID, "toUser": bob.ID, "start": "2026-03-30T01:00:00Z", "end": "2026-03-30T03:00:00Z"}); r.status != 201 {
		t.Fatalf("override: %d %s", r.status, r.body)
	}
	// At 02:00Z bob holds tier 1 (rotation), ann's tier-2 shift (override)
	// and the manager tier (still punched in).
	st = status("?at=2026-03-30T02:00:00Z")
	if got := duty.Tier(st.OnDuty, 2); len(got) != 1 || got[0] != bob.ID || st.OnDuty[1].Source != "override" {
		t.Fatalf("override at 02:00Z: %+v", st.OnDuty)
	}
	if r := e.api("GET", base+"/shift-report?month=2026-03", annKey, nil); r.status != 403 {
		t.Fatalf("responder report: %d", r.status)
	}
	if r := e.api("GET", base+"/shift-report?month=March", mgrKey, nil); r.status != 400 {
		t.Fatalf("bad month: %d", r.status)
	}
	r = e.api("GET", base+"/shift-report?month=2026-03", mgrKey, nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("report: %d %s", r.status, r.header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "user_id" || len(rows) < 4 {
		t.Fatalf("report rows %q", rows)
	}
	found := false
	for _, row := range rows[1:] {
		if row[1] == "bob@example.com" && row[3] == "override" && row[4] == "2026-03-30T01:00:00Z" && row[5] == "2026-03-30T03:00:00Z" && row[6] == "2.00" {
			found = true
		}
	}
	if !found {
		t.Fatalf("override missing from the report:\n%s", r.body)
	}
}
