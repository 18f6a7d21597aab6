package duty

import (
	"errors"
	"fmt"
	"time"
)

// Unit is what a rotation's shift length counts.
type Unit string

// Shift length units. Hours are absolute time; days and weeks are calendar
// days in the rotation's time zone, so a daily handoff at 08:00 stays at
// 08:00 local time across daylight-saving changes (and that day's shift is
// 23 or 25 hours long).
const (
	Hours Unit = "hours"
	Days  Unit = "days"
	Weeks Unit = "weeks"
)

// Rotation hands duty from one participant to the next every Length Units,
// starting at Start, whose local clock time in Location is the handoff time.
type Rotation struct {
	Tier     int
	Location *time.Location
	Start    time.Time
	// From, if set, is when the rotation took effect: it anchors its
	// handoffs at Start but puts nobody on duty before From, so a rotation
	// created today with a start last week does not rewrite last week.
	From         time.Time
	End          time.Time // zero: no end
	Length       int
	Unit         Unit
	Participants []string // in order; the first holds the shift starting at Start
}

// Validate checks the rotation can generate shifts.
func (r Rotation) Validate() error {
	switch {
	case r.Location == nil:
		return errors.New("no time zone")
	case r.Length <= 0:
		return fmt.Errorf("shift length %d: must be at least 1", r.Length)
	case r.Unit != Hours && r.Unit != Days && r.Unit != Weeks:
		return fmt.Errorf("shift length unit %q: use hours, days or weeks", r.Unit)
	case len(r.Participants) == 0:
		return errors.New("no participants")
	case r.Tier < 0:
		return fmt.Errorf("tier %d: tiers are 1, 2, 3 … or 0 for the manager", r.Tier)
	case !r.End.IsZero() && !r.End.After(r.Start):
		return errors.New("ends before it starts")
	}
	for i, p := range r.Participants {
		if p == "" {
			return fmt.Errorf("participant %d is empty", i+1)
		}
	}
	return nil
}

// boundary returns the start of shift k (k may be negative).
func (r Rotation) boundary(k int) time.Time {
	if r.Unit == Hours {
		return r.Start.Add(time.Duration(k*r.Length) * time.Hour)
	}
	days := k * r.Length
	if r.Unit == Weeks {
		days *= 7
	}
	l := r.Start.In(r.Location)
	return time.Date(l.Year(), l.Month(), l.Day()+days, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), r.Location)
}

// index returns k such that boundary(k) <= t < boundary(k+1).
func (r Rotation) index(t time.Time) int {
	var k int
	if r.Unit == Hours {
		d := t.Sub(r.Start)
		step := time.Duration(r.Length) * time.Hour
		k = int(d / step)
		if d < 0 && d%step != 0 {
			k--
		}
		return k
	}
	// Calendar units: estimate from elapsed hours, then step to the exact
	// shift, since DST days are 23 or 25 hours long.
	step := 24 * r.Length
	if r.Unit == Weeks {
		step *= 7
	}
	k = int(t.Sub(r.Start).Hours()) / step
	for r.boundary(k).After(t) {
		k--
	}
	for !r.boundary(k + 1).After(t) {
		k++
	}
	return k
}

// effective is when the rotation starts putting people on duty.
func (r Rotation) effective() time.Time {
	if r.From.After(r.Start) {
		return r.From
	}
	return r.Start
}

// ShiftAt returns the rotation's shift covering t, if any.
func (r Rotation) ShiftAt(t time.Time) (Shift, bool) {
	if t.Before(r.effective()) || (!r.End.IsZero() && !t.Before(r.End)) {
		return Shift{}, false
	}
	k := r.index(t)
	return r.shift(k), true
}

func (r Rotation) shift(k int) Shift {
	n := len(r.Participants)
	start, end := r.boundary(k), r.boundary(k+1)
	if !r.End.IsZero() && end.After(r.End) {
		end = r.End
	}
	if eff := r.effective(); start.Before(eff) {
		start = eff
	}
	return Shift{UserID: r.Participants[((k%n)+n)%n], Tier: r.Tier, Start: start.UTC(), End: end.UTC()}
}

// Shifts returns the rotation's shifts that overlap [from, to), in order.
func (r Rotation) Shifts(from, to time.Time) []Shift {
	if eff := r.effective(); from.Before(eff) {
		from = eff
	}
	if !r.End.IsZero() && to.After(r.End) {
		to = r.End
	}
	if !from.Before(to) {
		return nil
	}
	var out []Shift
	for k := r.index(from); r.boundary(k).Before(to); k++ {
		out = append(out, r.shift(k))
	}
	return out
}
