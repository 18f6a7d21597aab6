// Package duty answers "who is on duty for a team at time t", per tier, as a
// pure function over the stored plan: explicit shifts, rotations that
// generate shifts, overrides that put one member in another's place for a
// while, and manual punch-ins. Nothing here reads a clock or a database, so
// the answer for any t (past, now, future) is reproducible and cheap enough
// to compute for every alert.
package duty

import (
	"fmt"
	"time"
)

// ManagerTier is the tier of the manager on duty, who is escalated to after
// the last numbered tier (SIGNL4's duty mode "manager").
const ManagerTier = 0

// Shift is one planned period of duty.
type Shift struct {
	UserID string
	Tier   int // 1 = primary, 2, 3 …; ManagerTier for the manager
	Start  time.Time
	End    time.Time // exclusive
}

// Override puts ToUser in FromUser's place wherever FromUser is on duty
// during [Start, End) (a cover or a swap). With an empty FromUser, ToUser is
// added at Tier instead.
type Override struct {
	FromUser string
	ToUser   string
	Tier     int // used only when FromUser is empty
	Start    time.Time
	End      time.Time
}

// Punch is a member on duty by hand, from Start until End (zero while still
// punched in).
type Punch struct {
	UserID  string
	Manager bool // punched in as manager rather than primary
	Start   time.Time
	End     time.Time
}

// Plan is everything that decides a team's duty.
type Plan struct {
	Shifts    []Shift
	Rotations []Rotation
	Overrides []Override
	Punches   []Punch
}

// Validate reports the first thing wrong with the plan, in words a planner
// can act on.
func (p Plan) Validate() error {
	for i, s := range p.Shifts {
		if s.UserID == "" {
			return fmt.Errorf("shift %d has no member", i+1)
		}
		if !s.End.After(s.Start) {
			return fmt.Errorf("shift %d ends (%s) before it starts (%s)", i+1, s.End.Format(time.RFC3339), s.Start.Format(time.RFC3339))
		}
		if s.Tier < 0 {
			return fmt.Errorf("shift %d has tier %d; tiers are 1, 2, 3 … or 0 for the manager", i+1, s.Tier)
		}
	}
	for i, r := range p.Rotations {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("rotation %d: %w", i+1, err)
		}
	}
	for i, o := range p.Overrides {
		if o.ToUser == "" {
			return fmt.Errorf("override %d names no member to put on duty", i+1)
		}
		if !o.End.After(o.Start) {
			return fmt.Errorf("override %d ends before it starts", i+1)
		}
		if o.FromUser == o.ToUser {
			return fmt.Errorf("override %d replaces a member by the same member", i+1)
		}
	}
	for i, pu := range p.Punches {
		if !pu.End.IsZero() && !pu.End.After(pu.Start) {
			return fmt.Errorf("punch %d ends before it starts", i+1)
		}
	}
	return nil
}
