package duty

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/store"
)

// planWindow is how far ahead the plan is loaded for the next handoffs.
const planWindow = 14 * 24 * time.Hour

// LoadPlan reads the part of the team's plan that matters for [from, to).
func (s *Service) LoadPlan(ctx context.Context, teamID string, from, to time.Time) (Plan, error) {
	var p Plan
	shifts, err := s.Shifts(ctx, teamID, from, to)
	if err != nil {
		return Plan{}, err
	}
	for _, sh := range shifts {
		p.Shifts = append(p.Shifts, Shift{UserID: sh.UserID, Tier: sh.Tier, Start: sh.Start, End: sh.End})
	}
	rots, err := s.Rotations(ctx, teamID)
	if err != nil {
		return Plan{}, err
	}
	for _, r := range rots {
		if r.End != nil && !r.End.After(from) {
			continue
		}
		l, err := time.LoadLocation(r.TimeZone)
		if err != nil {
			return Plan{}, fmt.Errorf("rotation %s time zone: %w", r.ID, err)
		}
		rot := Rotation{Tier: r.Tier, Location: l, Start: r.Start, From: r.CreatedAt, Length: r.Length, Unit: r.Unit, Participants: r.Participants}
		if r.End != nil {
			rot.End = *r.End
		}
		p.Rotations = append(p.Rotations, rot)
	}
	ovs, err := s.Overrides(ctx, teamID, from, to)
	if err != nil {
		return Plan{}, err
	}
	for _, o := range ovs {
		p.Overrides = append(p.Overrides, Override{FromUser: o.FromUser, ToUser: o.ToUser, Tier: o.Tier, Start: o.Start, End: o.End})
	}
	rows, err := s.db.Query(ctx, `SELECT user_id, manager, start_at, end_at FROM punches WHERE team_id = ? AND start_at < ? AND (end_at IS NULL OR end_at > ?)`,
		teamID, store.Micros(to), store.Micros(from))
	if err != nil {
		return Plan{}, fmt.Errorf("list punches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pu Punch
		var st int64
		var en *int64
		if err := rows.Scan(&pu.UserID, &pu.Manager, &st, &en); err != nil {
			return Plan{}, err
		}
		pu.Start = store.FromMicros(st)
		if en != nil {
			pu.End = store.FromMicros(*en)
		}
		p.Punches = append(p.Punches, pu)
	}
	return p, rows.Err()
}

// Status is who is on duty at a moment and the changes that follow.
type Status struct {
	At       time.Time `json:"at"`
	OnDuty   []OnDuty  `json:"onDuty"`
	Handoffs []Handoff `json:"handoffs"`
}

// StatusAt returns who is on duty for the team at t, and the handoffs of
// the following two weeks.
func (s *Service) StatusAt(ctx context.Context, teamID string, t time.Time) (Status, error) {
	p, err := s.LoadPlan(ctx, teamID, t, t.Add(planWindow))
	if err != nil {
		return Status{}, err
	}
	st := Status{At: t, OnDuty: p.At(t), Handoffs: p.Handoffs(t, t.Add(planWindow))}
	if st.OnDuty == nil {
		st.OnDuty = []OnDuty{}
	}
	if st.Handoffs == nil {
		st.Handoffs = []Handoff{}
	}
	return st, nil
}

// Period is one stretch of duty in a report.
type Period struct {
	UserID string
	Tier   int
	Source string
	Start  time.Time
	End    time.Time
}

// Report lists who was on duty in [from, to), as merged periods in time
// order. It walks the moments where the plan changes, so overrides and
// punches are accounted exactly.
func (s *Service) Report(ctx context.Context, teamID string, from, to time.Time) ([]Period, error) {
	p, err := s.LoadPlan(ctx, teamID, from, to)
	if err != nil {
		return nil, err
	}
	moments := []time.Time{from}
	for _, h := range p.Handoffs(from, to) {
		if len(moments) == 0 || !moments[len(moments)-1].Equal(h.At) {
			moments = append(moments, h.At)
		}
	}
	moments = append(moments, to)
	type key struct {
		user string
		tier int
	}
	open := map[key]*Period{}
	var out []Period
	for i := 0; i+1 < len(moments); i++ {
		if !moments[i].Before(moments[i+1]) {
			continue
		}
		seen := map[key]bool{}
		for _, o := range p.At(moments[i]) {
			k := key{o.UserID, o.Tier}
			seen[k] = true
			if pr, ok := open[k]; ok {
				pr.End = moments[i+1]
				continue
			}
			open[k] = &Period{UserID: o.UserID, Tier: o.Tier, Source: o.Source, Start: moments[i], End: moments[i+1]}
		}
		for k, pr := range open {
			if !seen[k] {
				out = append(out, *pr)
				delete(open, k)
			}
		}
	}
	for _, pr := range open {
		out = append(out, *pr)
	}
	sortPeriods(out)
	return out, nil
}

func sortPeriods(ps []Period) {
	slices.SortFunc(ps, func(a, b Period) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if a.Tier != b.Tier {
			return tierRank(a.Tier) - tierRank(b.Tier)
		}
		return strings.Compare(a.UserID, b.UserID)
	})
}
