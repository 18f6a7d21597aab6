package duty

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func loc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func at(l *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, l)
	if err != nil {
		panic(err)
	}
	return t
}

func who(on []OnDuty) string {
	var parts []string
	for _, o := range on {
		parts = append(parts, fmt.Sprintf("%d:%s", o.Tier, o.UserID))
	}
	return strings.Join(parts, " ")
}

// A daily handoff at 08:00 Berlin stays at 08:00 local time across both
// daylight-saving changes of 2026; those days' shifts are 23 and 25 hours.
func TestDailyRotationAcrossDST(t *testing.T) {
	berlin := loc(t, "Europe/Berlin")
	r := Rotation{Tier: 1, Location: berlin, Start: at(berlin, "2026-03-27 08:00"), Length: 1, Unit: Days, Participants: []string{"ann", "bob", "cid"}}
	cases := []struct {
		when, want  string
		start, end  string
		shiftLength time.Duration
	}{
		{"2026-03-27 08:00", "ann", "2026-03-27 08:00", "2026-03-28 08:00", 24 * time.Hour},
		{"2026-03-28 07:59", "ann", "2026-03-27 08:00", "2026-03-28 08:00", 24 * time.Hour},
		{"2026-03-28 23:00", "bob", "2026-03-28 08:00", "2026-03-29 08:00", 23 * time.Hour}, // clocks go forward on the 29th
		{"2026-03-29 07:59", "bob", "2026-03-28 08:00", "2026-03-29 08:00", 23 * time.Hour},
		{"2026-03-29 08:00", "cid", "2026-03-29 08:00", "2026-03-30 08:00", 24 * time.Hour},
		{"2026-03-30 12:00", "ann", "2026-03-30 08:00", "2026-03-31 08:00", 24 * time.Hour},
		{"2026-10-24 09:00", "bob", "2026-10-24 08:00", "2026-10-25 08:00", 25 * time.Hour}, // day 211; clocks go back on the 25th
		{"2026-10-25 07:30", "bob", "2026-10-24 08:00", "2026-10-25 08:00", 25 * time.Hour},
		{"2026-10-25 08:00", "cid", "2026-10-25 08:00", "2026-10-26 08:00", 24 * time.Hour},
	}
	for _, c := range cases {
		s, ok := r.ShiftAt(at(berlin, c.when))
		if !ok {
			t.Fatalf("%s: no shift", c.when)
		}
		if s.UserID != c.want || !s.Start.Equal(at(berlin, c.start)) || !s.End.Equal(at(berlin, c.end)) || s.End.Sub(s.Start) != c.shiftLength {
			t.Errorf("%s: %s %s–%s (%v), want %s %s–%s (%v)", c.when, s.UserID, s.Start.In(berlin).Format("01-02 15:04"), s.End.In(berlin).Format("01-02 15:04"), s.End.Sub(s.Start),
				c.want, c.start, c.end, c.shiftLength)
		}
	}
	if _, ok := r.ShiftAt(at(berlin, "2026-03-27 07:59")); ok {
		t.Error("on duty before the rotation starts")
	}
}

// Hourly shifts are absolute time: a 12-hour shift is 12 hours even across
// a DST change, so the handoff moves on the local clock.
func TestHourlyRotationIsAbsolute(t *testing.T) {
	ny := loc(t, "America/New_York")
	r := Rotation{Tier: 2, Location: ny, Start: at(ny, "2026-11-01 00:00"), Length: 12, Unit: Hours, Participants: []string{"a", "b"}}
	s, _ := r.ShiftAt(at(ny, "2026-11-01 12:30")) // clocks went back at 02:00
	if s.UserID != "b" || s.Start.In(ny).Format("15:04") != "11:00" || s.End.Sub(s.Start) != 12*time.Hour {
		t.Fatalf("shift %s from %s for %v", s.UserID, s.Start.In(ny).Format("15:04"), s.End.Sub(s.Start))
	}
}

// A weekly rotation handing off on Monday 09:00 covers the nights and
// weekends between handoffs, and ends when the rotation ends.
func TestWeeklyRotationAcrossMidnightAndEnd(t *testing.T) {
	utc := time.UTC
	r := Rotation{Tier: 1, Location: utc, Start: at(utc, "2026-01-05 09:00"), End: at(utc, "2026-02-02 09:00"), Length: 1, Unit: Weeks, Participants: []string{"x", "y", "z"}}
	for when, want := range map[string]string{
		"2026-01-05 09:00": "x", "2026-01-11 23:59": "x", "2026-01-12 00:30": "x", "2026-01-12 09:00": "y",
		"2026-01-19 08:59": "y", "2026-01-25 03:00": "z", "2026-01-26 09:00": "x", "2026-02-02 08:59": "x",
	} {
		if s, ok := r.ShiftAt(at(utc, when)); !ok || s.UserID != want {
			t.Errorf("%s: %q (%v), want %s", when, s.UserID, ok, want)
		}
	}
	if _, ok := r.ShiftAt(at(utc, "2026-02-02 09:00")); ok {
		t.Error("on duty after the rotation ended")
	}
	shifts := r.Shifts(at(utc, "2026-01-01 00:00"), at(utc, "2026-03-01 00:00"))
	if len(shifts) != 4 || !shifts[3].End.Equal(r.End) {
		t.Fatalf("shifts %+v", shifts)
	}
}

// Rotation arithmetic agrees with walking the shifts one by one, for many
// lengths, zones and instants.
func TestRotationIndexMatchesWalking(t *testing.T) {
	for _, zone := range []string{"UTC", "Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe"} {
		l := loc(t, zone)
		for _, unit := range []Unit{Hours, Days, Weeks} {
			for _, length := range []int{1, 3, 7} {
				r := Rotation{Tier: 1, Location: l, Start: at(l, "2025-12-30 18:30"), Length: length, Unit: unit, Participants: []string{"a", "b", "c", "d"}}
				walk := r.Start
				for k := 0; k < 200; k++ {
					next := r.boundary(k + 1)
					if !next.After(walk) {
						t.Fatalf("%s %d %s: boundary %d not after %d", zone, length, unit, k+1, k)
					}
					mid := walk.Add(next.Sub(walk) / 2)
					for _, probe := range []time.Time{walk, mid, next.Add(-time.Nanosecond)} {
						if got := r.index(probe); got != k {
							t.Fatalf("%s %d %s: index(%s) = %d, want %d", zone, length, unit, probe, got, k)
						}
					}
					walk = next
				}
			}
		}
	}
}

func TestPlanAt(t *testing.T) {
	utc := time.UTC
	p := Plan{
		Rotations: []Rotation{
			{Tier: 1, Location: utc, Start: at(utc, "2026-01-01 08:00"), Length: 1, Unit: Days, Participants: []string{"ann", "bob"}},
			{Tier: 2, Location: utc, Start: at(utc, "2026-01-01 08:00"), Length: 1, Unit: Weeks, Participants: []string{"sue"}},
		},
		Shifts: []Shift{
			{UserID: "max", Tier: ManagerTier, Start: at(utc, "2026-01-01 00:00"), End: at(utc, "2026-02-01 00:00")},
			{UserID: "eve", Tier: 1, Start: at(utc, "2026-01-02 20:00"), End: at(utc, "2026-01-03 02:00")}, // overlaps bob
			{UserID: "bob", Tier: 1, Start: at(utc, "2026-01-02 20:00"), End: at(utc, "2026-01-03 02:00")}, // bob twice: once
		},
		Overrides: []Override{
			{FromUser: "ann", ToUser: "tom", Start: at(utc, "2026-01-03 12:00"), End: at(utc, "2026-01-03 18:00")},
			{ToUser: "zed", Tier: 3, Start: at(utc, "2026-01-04 00:00"), End: at(utc, "2026-01-05 00:00")},
		},
		Punches: []Punch{
			{UserID: "pat", Start: at(utc, "2026-01-06 10:00")},
			{UserID: "kim", Manager: true, Start: at(utc, "2026-01-06 10:00"), End: at(utc, "2026-01-06 11:00")},
		},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"2026-01-01 07:00": "0:max",
		"2026-01-01 09:00": "1:ann 2:sue 0:max",
		"2026-01-02 21:00": "1:bob 1:eve 2:sue 0:max",
		"2026-01-03 13:00": "1:tom 2:sue 0:max",
		"2026-01-03 18:00": "1:ann 2:sue 0:max",
		"2026-01-04 01:00": "1:ann 2:sue 3:zed 0:max",
		"2026-01-06 10:30": "1:pat 1:bob 2:sue 0:kim 0:max",
		"2026-01-06 11:00": "1:bob 1:pat 2:sue 0:max",
		"2027-06-01 10:00": "1:ann 1:pat 2:sue", // day 516 of the rotation
	}
	for when, want := range cases {
		got := who(p.At(at(utc, when)))
		// Within a tier the order is by member id.
		if canon(got) != canon(want) {
			t.Errorf("%s: %s, want %s", when, got, want)
		}
	}
	on := p.At(at(utc, "2026-01-03 13:00"))
	if o := on[0]; o.Source != "override" || !o.Since.Equal(at(utc, "2026-01-03 12:00")) || !o.Until.Equal(at(utc, "2026-01-03 18:00")) {
		t.Errorf("override entry %+v", o)
	}
	if got := Tier(p.At(at(utc, "2026-01-02 21:00")), 1); !slices.Equal(got, []string{"bob", "eve"}) {
		t.Errorf("Tier 1 = %v", got)
	}
}

// canon sorts the entries of each tier so that comparisons ignore the order
// of members within a tier, but not the order of tiers.
func canon(s string) string {
	parts := strings.Fields(s)
	slices.SortStableFunc(parts, func(a, b string) int {
		ta, tb := a[:strings.Index(a, ":")], b[:strings.Index(b, ":")]
		ra, rb := tierRankString(ta), tierRankString(tb)
		if ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return strings.Join(parts, " ")
}

func tierRankString(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return tierRank(n)
}

func TestHandoffs(t *testing.T) {
	berlin := loc(t, "Europe/Berlin")
	p := Plan{
		Rotations: []Rotation{{Tier: 1, Location: berlin, Start: at(berlin, "2026-03-27 08:00"), Length: 1, Unit: Days, Participants: []string{"ann", "bob"}}},
		Overrides: []Override{{FromUser: "bob", ToUser: "tom", Start: at(berlin, "2026-03-28 20:00"), End: at(berlin, "2026-03-29 01:00")}},
	}
	hs := p.Handoffs(at(berlin, "2026-03-27 12:00"), at(berlin, "2026-03-30 12:00"))
	var got []string
	for _, h := range hs {
		got = append(got, fmt.Sprintf("%s %v→%v", h.At.In(berlin).Format("01-02 15:04"), h.Before, h.After))
	}
	want := []string{
		"03-28 08:00 [ann]→[bob]",
		"03-28 20:00 [bob]→[tom]",
		"03-29 01:00 [tom]→[bob]",
		"03-29 08:00 [bob]→[ann]", // 08:00 local although the night was an hour shorter
		"03-30 08:00 [ann]→[bob]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("handoffs\n got %q\nwant %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	utc := time.UTC
	t0 := at(utc, "2026-01-01 00:00")
	good := Rotation{Tier: 1, Location: utc, Start: t0, Length: 1, Unit: Days, Participants: []string{"a"}}
	cases := []struct {
		name string
		plan Plan
		want string
	}{
		{"shift ends before start", Plan{Shifts: []Shift{{UserID: "a", Tier: 1, Start: t0, End: t0}}}, "ends"},
		{"shift without member", Plan{Shifts: []Shift{{Tier: 1, Start: t0, End: t0.Add(time.Hour)}}}, "no member"},
		{"negative tier", Plan{Shifts: []Shift{{UserID: "a", Tier: -1, Start: t0, End: t0.Add(time.Hour)}}}, "tier -1"},
		{"zero length", Plan{Rotations: []Rotation{func() Rotation { r := good; r.Length = 0; return r }()}}, "shift length 0"},
		{"bad unit", Plan{Rotations: []Rotation{func() Rotation { r := good; r.Unit = "months"; return r }()}}, `unit "months"`},
		{"no time zone", Plan{Rotations: []Rotation{func() Rotation { r := good; r.Location = nil; return r }()}}, "time zone"},
		{"no participants", Plan{Rotations: []Rotation{func() Rotation { r := good; r.Participants = nil; return r }()}}, "no participants"},
		{"rotation ends before start", Plan{Rotations: []Rotation{func() Rotation { r := good; r.End = t0.Add(-time.Hour); return r }()}}, "ends before"},
		{"override by self", Plan{Overrides: []Override{{FromUser: "a", ToUser: "a", Start: t0, End: t0.Add(time.Hour)}}}, "same member"},
		{"punch ends before start", Plan{Punches: []Punch{{UserID: "a", Start: t0, End: t0.Add(-time.Hour)}}}, "punch 1"},
	}
	for _, c := range cases {
		err := c.plan.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if err := (Plan{Rotations: []Rotation{good}}).Validate(); err != nil {
		t.Errorf("good plan: %v", err)
	}
}

// BenchmarkAt resolves duty for a team with three tiers of rotations, a
// manager rotation, a year of explicit daily shifts and a year of weekly
// overrides: the work done for every new alert.
func BenchmarkAt(b *testing.B) {
	berlin := loc(b, "Europe/Berlin")
	start := at(berlin, "2026-01-01 08:00")
	p := Plan{}
	for tier := 1; tier <= 3; tier++ {
		p.Rotations = append(p.Rotations, Rotation{Tier: tier, Location: berlin, Start: start, Length: 1, Unit: Weeks, Participants: []string{"a", "b", "c", "d", "e"}})
	}
	p.Rotations = append(p.Rotations, Rotation{Tier: ManagerTier, Location: berlin, Start: start, Length: 1, Unit: Days, Participants: []string{"m1", "m2"}})
	for d := 0; d < 365; d++ {
		s := start.AddDate(0, 0, d)
		p.Shifts = append(p.Shifts, Shift{UserID: fmt.Sprint("s", d%7), Tier: 1, Start: s.Add(10 * time.Hour), End: s.Add(14 * time.Hour)})
	}
	for w := 0; w < 52; w++ {
		s := start.AddDate(0, 0, 7*w+2)
		p.Overrides = append(p.Overrides, Override{FromUser: "b", ToUser: "z", Start: s, End: s.Add(8 * time.Hour)})
	}
	when := at(berlin, "2026-09-15 12:00")
	b.ReportAllocs()
	for b.Loop() {
		if len(p.At(when)) == 0 {
			b.Fatal("nobody on duty")
		}
	}
}

// A rotation anchored in the past but created now puts nobody on duty
// before it was created, and its first shift starts then.
func TestRotationFromKeepsThePast(t *testing.T) {
	utc := time.UTC
	r := Rotation{Tier: 1, Location: utc, Start: at(utc, "2026-01-01 08:00"), From: at(utc, "2026-01-10 15:00"), Length: 1, Unit: Days, Participants: []string{"a", "b"}}
	if _, ok := r.ShiftAt(at(utc, "2026-01-10 14:59")); ok {
		t.Fatal("on duty before the rotation took effect")
	}
	s, ok := r.ShiftAt(at(utc, "2026-01-10 16:00"))
	if !ok || s.UserID != "b" || !s.Start.Equal(r.From) || !s.End.Equal(at(utc, "2026-01-11 08:00")) {
		t.Fatalf("first shift %+v %v", s, ok) // shift 9 of the anchor: b
	}
	if got := r.Shifts(at(utc, "2026-01-01 00:00"), at(utc, "2026-01-12 00:00")); len(got) != 2 || !got[0].Start.Equal(r.From) {
		t.Fatalf("shifts %+v", got)
	}
}
