package duty

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// OnDuty is one member on duty at one tier, and since and until when the
// piece of the plan that puts them there lasts (Until is zero for an open
// punch-in).
type OnDuty struct {
	UserID string    `json:"userId"`
	Tier   int       `json:"tier"`
	Source string    `json:"source"` // shift, rotation, punch, override
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until,omitzero"`
}

// At returns who is on duty at t, ordered by tier (1, 2, …, then the
// manager) and member. A member appears at most once per tier.
func (p Plan) At(t time.Time) []OnDuty {
	var out []OnDuty
	for _, s := range p.Shifts {
		if !t.Before(s.Start) && t.Before(s.End) {
			out = append(out, OnDuty{UserID: s.UserID, Tier: s.Tier, Source: "shift", Since: s.Start, Until: s.End})
		}
	}
	for _, r := range p.Rotations {
		if s, ok := r.ShiftAt(t); ok {
			out = append(out, OnDuty{UserID: s.UserID, Tier: s.Tier, Source: "rotation", Since: s.Start, Until: s.End})
		}
	}
	for _, pu := range p.Punches {
		if !t.Before(pu.Start) && (pu.End.IsZero() || t.Before(pu.End)) {
			tier := 1
			if pu.Manager {
				tier = ManagerTier
			}
			out = append(out, OnDuty{UserID: pu.UserID, Tier: tier, Source: "punch", Since: pu.Start, Until: pu.End})
		}
	}
	for _, o := range p.Overrides {
		if t.Before(o.Start) || !t.Before(o.End) {
			continue
		}
		if o.FromUser == "" {
			out = append(out, OnDuty{UserID: o.ToUser, Tier: o.Tier, Source: "override", Since: o.Start, Until: o.End})
			continue
		}
		for i := range out {
			if out[i].UserID == o.FromUser {
				out[i].UserID, out[i].Source = o.ToUser, "override"
				out[i].Since = later(out[i].Since, o.Start)
				out[i].Until = earlier(out[i].Until, o.End)
			}
		}
	}
	slices.SortFunc(out, func(a, b OnDuty) int {
		if a.Tier != b.Tier {
			return tierRank(a.Tier) - tierRank(b.Tier)
		}
		if c := strings.Compare(a.UserID, b.UserID); c != 0 {
			return c
		}
		return a.Since.Compare(b.Since)
	})
	return slices.CompactFunc(out, func(a, b OnDuty) bool { return a.UserID == b.UserID && a.Tier == b.Tier })
}

// tierRank orders tiers 1, 2, 3 … and the manager last.
func tierRank(t int) int {
	if t == ManagerTier {
		return 1 << 30
	}
	return t
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// earlier treats a zero time as "open", later than any other.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// Tier returns the members on duty at tier n, from an At result.
func Tier(on []OnDuty, n int) []string {
	var out []string
	for _, o := range on {
		if o.Tier == n {
			out = append(out, o.UserID)
		}
	}
	return out
}

// Handoff is a moment when who is on duty at a tier changes.
type Handoff struct {
	At     time.Time `json:"at"`
	Tier   int       `json:"tier"`
	Before []string  `json:"before"`
	After  []string  `json:"after"`
}

// Handoffs lists the changes of duty in (from, to], in time order. It
// compares the plan just before and at each moment any part of the plan
// starts or ends, so it sees exactly the changes At would show.
func (p Plan) Handoffs(from, to time.Time) []Handoff {
	var moments []time.Time
	add := func(ts ...time.Time) {
		for _, t := range ts {
			if t.After(from) && !t.After(to) {
				moments = append(moments, t)
			}
		}
	}
	for _, s := range p.Shifts {
		add(s.Start, s.End)
	}
	for _, r := range p.Rotations {
		for _, s := range r.Shifts(from, to.Add(time.Nanosecond)) {
			add(s.Start, s.End)
		}
	}
	for _, o := range p.Overrides {
		add(o.Start, o.End)
	}
	for _, pu := range p.Punches {
		add(pu.Start)
		if !pu.End.IsZero() {
			add(pu.End)
		}
	}
	slices.SortFunc(moments, time.Time.Compare)
	moments = slices.CompactFunc(moments, time.Time.Equal)
	var out []Handoff
	for _, m := range moments {
		before, after := byTier(p.At(m.Add(-time.Nanosecond))), byTier(p.At(m))
		tiers := map[int]bool{}
		for t := range before {
			tiers[t] = true
		}
		for t := range after {
			tiers[t] = true
		}
		for _, t := range slices.SortedFunc(maps.Keys(tiers), func(a, b int) int { return tierRank(a) - tierRank(b) }) {
			if !slices.Equal(before[t], after[t]) {
				out = append(out, Handoff{At: m, Tier: t, Before: orEmpty(before[t]), After: orEmpty(after[t])})
			}
		}
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func byTier(on []OnDuty) map[int][]string {
	m := map[int][]string{}
	for _, o := range on {
		m[o.Tier] = append(m[o.Tier], o.UserID)
	}
	return m
}
