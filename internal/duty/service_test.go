package duty_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

type fixture struct {
	svc   *duty.Service
	clock *clock.Fake
	team  string
	ann   string
	bob   string
	out   string // not a member
	ctx   context.Context
	t0    time.Time
	db    *store.DB
}

func setup(t *testing.T, db *store.DB) fixture {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := clock.NewFake(t0)
	ts := team.NewService(db, c)
	tm, _, err := ts.CreateTeam(ctx, "Ops", "")
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{svc: duty.NewService(db, c, ts), clock: c, team: tm.ID, ctx: ctx, t0: t0, db: db}
	for _, e := range []string{"ann@example.com", "bob@example.com", "out@example.com"} {
		u, err := ts.CreateUser(ctx, team.NewUser{Email: e})
		if err != nil {
			t.Fatal(err)
		}
		switch e {
		case "ann@example.com":
			f.ann = u.ID
		case "bob@example.com":
			f.bob = u.ID
		default:
			f.out = u.ID
			continue
		}
		if _, err := ts.AddMember(ctx, tm.ID, u.ID, team.RoleResponder); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f fixture) onDuty(t *testing.T, at time.Time) string {
	t.Helper()
	st, err := f.svc.StatusAt(f.ctx, f.team, at)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, o := range st.OnDuty {
		name := map[string]string{f.ann: "ann", f.bob: "bob", f.out: "out"}[o.UserID]
		parts = append(parts, name+"@"+string(rune('0'+o.Tier)))
	}
	return strings.Join(parts, " ")
}

func kind(err error) apperr.Kind { return apperr.KindOf(err) }

func TestPunchInAndOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		if changed, err := f.svc.PunchIn(f.ctx, f.team, f.ann, false); err != nil || !changed {
			t.Fatalf("punch in: %v %v", changed, err)
		}
		if changed, err := f.svc.PunchIn(f.ctx, f.team, f.ann, false); err != nil || changed {
			t.Fatalf("second punch in: %v %v", changed, err)
		}
		f.clock.Advance(time.Minute)
		if got := f.onDuty(t, f.clock.Now()); got != "ann@1" {
			t.Fatalf("on duty: %q", got)
		}
		if changed, err := f.svc.PunchIn(f.ctx, f.team, f.ann, true); err != nil || !changed {
			t.Fatalf("switch to manager: %v %v", changed, err)
		}
		f.clock.Advance(time.Minute)
		if got := f.onDuty(t, f.clock.Now()); got != "ann@0" {
			t.Fatalf("on duty as manager: %q", got)
		}
		if err := f.svc.PunchOut(f.ctx, f.team, f.ann); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.PunchOut(f.ctx, f.team, f.ann); kind(err) != apperr.Conflict {
			t.Fatalf("second punch out: %v", err)
		}
		if _, err := f.svc.PunchIn(f.ctx, f.team, f.out, false); kind(err) != apperr.Invalid {
			t.Fatalf("punch in of a non-member: %v", err)
		}
		f.clock.Advance(time.Minute)
		if got := f.onDuty(t, f.clock.Now()); got != "" {
			t.Fatalf("after punch out: %q", got)
		}
		// The history stays: a minute after the first punch, ann was primary.
		if got := f.onDuty(t, f.t0.Add(30*time.Second)); got != "ann@1" {
			t.Fatalf("history: %q", got)
		}
		var kinds []string
		rows, err := db.Query(f.ctx, `SELECT kind FROM duty_events WHERE team_id = ? ORDER BY id`, f.team)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			rows.Scan(&k)
			kinds = append(kinds, k)
		}
		if got := strings.Join(kinds, " "); got != "punched_in punched_out punched_in punched_out" {
			t.Fatalf("duty events: %s", got)
		}
	})
}

func TestShiftsNeverRewriteThePast(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		h := func(n int) time.Time { return f.t0.Add(time.Duration(n) * time.Hour) }
		shifts, err := f.svc.AddShifts(f.ctx, f.team, []duty.PlannedShift{
			{UserID: f.ann, Tier: 1, Start: h(1), End: h(9)},
			{UserID: f.bob, Tier: 2, Start: h(1), End: h(9)},
		}, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.onDuty(t, h(2)); got != "ann@1 bob@2" {
			t.Fatalf("planned: %q", got)
		}
		for _, c := range []struct {
			name  string
			shift duty.PlannedShift
			want  string
		}{
			{"past", duty.PlannedShift{UserID: f.ann, Tier: 1, Start: h(-2), End: h(1)}, "in the past"},
			{"end before start", duty.PlannedShift{UserID: f.ann, Tier: 1, Start: h(3), End: h(2)}, "ends"},
			{"not a member", duty.PlannedShift{UserID: f.out, Tier: 1, Start: h(3), End: h(4)}, "not a member"},
		} {
			if _, err := f.svc.AddShifts(f.ctx, f.team, []duty.PlannedShift{c.shift}, false); kind(err) != apperr.Invalid || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		// Replacing: bob takes hours 3–5 of tier 1; ann keeps the rest.
		if _, err := f.svc.AddShifts(f.ctx, f.team, []duty.PlannedShift{{UserID: f.bob, Tier: 1, Start: h(3), End: h(5)}}, true); err != nil {
			t.Fatal(err)
		}
		for at, want := range map[int]string{2: "ann@1 bob@2", 4: "bob@1 bob@2", 6: "ann@1 bob@2"} {
			if got := f.onDuty(t, h(at)); got != want {
				t.Errorf("hour %d after replace: %q, want %q", at, got, want)
			}
		}
		// Deleting the tier-2 shift while it runs cuts it at now.
		f.clock.Set(h(4))
		if err := f.svc.DeleteShift(f.ctx, f.team, shifts[1].ID); err != nil {
			t.Fatal(err)
		}
		if got := f.onDuty(t, h(3)); got != "bob@1 bob@2" {
			t.Errorf("the past after the cut: %q", got)
		}
		if got := f.onDuty(t, h(5)); got != "ann@1" {
			t.Errorf("the future after the cut: %q", got)
		}
		f.clock.Set(h(10))
		if err := f.svc.DeleteShift(f.ctx, f.team, shifts[1].ID); kind(err) != apperr.Conflict {
			t.Errorf("deleting a shift that is over: %v", err)
		}
	})
}

func TestRotationsOverridesAndReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		day := func(d, hour int) time.Time { return time.Date(2026, 3, d, hour, 0, 0, 0, time.UTC) }
		r, err := f.svc.CreateRotation(f.ctx, f.team, duty.NewRotation{Name: "primary", Tier: 1, TimeZone: "Europe/Berlin",
			Start: day(1, 7), Length: 1, Unit: duty.Days, Participants: []string{f.ann, f.bob}}) // 08:00 Berlin
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []duty.NewRotation{
			{Tier: 1, TimeZone: "Mars/Base", Start: day(1, 7), Length: 1, Unit: duty.Days, Participants: []string{f.ann}},
			{Tier: 1, TimeZone: "UTC", Start: day(1, 7), Length: 0, Unit: duty.Days, Participants: []string{f.ann}},
			{Tier: 1, TimeZone: "UTC", Start: day(1, 7), Length: 1, Unit: duty.Days, Participants: []string{f.out}},
		} {
			if _, err := f.svc.CreateRotation(f.ctx, f.team, bad); kind(err) != apperr.Invalid {
				t.Errorf("bad rotation %+v: %v", bad, err)
			}
		}
		// Created on the 2nd at 09:00 UTC: nobody from the rotation before.
		if got := f.onDuty(t, day(2, 8)); got != "" {
			t.Fatalf("before the rotation was created: %q", got)
		}
		if got := f.onDuty(t, day(2, 10)); got != "bob@1" {
			t.Fatalf("day 2: %q", got)
		}
		if _, err := f.svc.CreateOverride(f.ctx, f.team, duty.StoredOverride{FromUser: f.ann, ToUser: f.bob, Start: day(3, 12), End: day(3, 18)}); err != nil {
			t.Fatal(err)
		}
		if got := f.onDuty(t, day(3, 13)); got != "bob@1" {
			t.Fatalf("override: %q", got)
		}
		st, err := f.svc.StatusAt(f.ctx, f.team, day(3, 10))
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Handoffs) < 3 || !st.Handoffs[0].At.Equal(day(3, 12)) || !st.Handoffs[1].At.Equal(day(3, 18)) || !st.Handoffs[2].At.Equal(day(4, 7)) {
			t.Fatalf("handoffs %+v", st.Handoffs)
		}
		// Ending the rotation on the 5th keeps the 2nd–5th in the report.
		f.clock.Set(day(5, 12))
		if err := f.svc.EndRotation(f.ctx, f.team, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.EndRotation(f.ctx, f.team, r.ID); kind(err) != apperr.Conflict {
			t.Fatalf("ending twice: %v", err)
		}
		periods, err := f.svc.Report(f.ctx, f.team, day(1, 0), day(8, 0))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range periods {
			name := map[string]string{f.ann: "ann", f.bob: "bob"}[p.UserID]
			got = append(got, name+" "+p.Start.UTC().Format("02 15")+"–"+p.End.UTC().Format("02 15"))
		}
		want := "bob 02 09–03 07|ann 03 07–03 12|bob 03 12–03 18|ann 03 18–04 07|bob 04 07–05 07|ann 05 07–05 12"
		if strings.Join(got, "|") != want {
			t.Fatalf("report\n got %s\nwant %s", strings.Join(got, "|"), want)
		}
	})
}
