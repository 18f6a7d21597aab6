package web

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/duty"
)

// plannerSegment is a stretch of the resolved plan: one member on duty at
// one tier for one reason, as the engine sees it (duty.Plan.At).
type plannerSegment struct {
	UserID string
	Tier   int
	Source string // shift, rotation, override, punch
	Since  time.Time
	Start  time.Time
	End    time.Time
}

// plannerResolve returns who is on duty in [from, to) as segments. It asks
// the plan at every moment any part of it starts or ends, so rotations are
// expanded and overrides applied exactly as when alerts are sent.
func plannerResolve(p duty.Plan, from, to time.Time) []plannerSegment {
	moments := []time.Time{from, to}
	add := func(ts ...time.Time) {
		for _, t := range ts {
			if t.After(from) && t.Before(to) {
				moments = append(moments, t)
			}
		}
	}
	for _, s := range p.Shifts {
		add(s.Start, s.End)
	}
	for _, r := range p.Rotations {
		for _, s := range r.Shifts(from, to) {
			add(s.Start, s.End)
		}
	}
	for _, o := range p.Overrides {
		add(o.Start, o.End)
	}
	for _, pu := range p.Punches {
		add(pu.Start, pu.End)
	}
	slices.SortFunc(moments, time.Time.Compare)
	moments = slices.CompactFunc(moments, time.Time.Equal)
	// Since is in the key so that back-to-back shifts of one member stay
	// separate blocks, each movable on its own.
	type key struct {
		user, source string
		tier         int
		since        time.Time
	}
	open := map[key]*plannerSegment{}
	var out []plannerSegment
	for i := 0; i+1 < len(moments); i++ {
		seen := map[key]bool{}
		for _, o := range p.At(moments[i]) {
			k := key{o.UserID, o.Source, o.Tier, o.Since}
			seen[k] = true
			if sg, ok := open[k]; ok {
				sg.End = moments[i+1]
				continue
			}
			open[k] = &plannerSegment{UserID: o.UserID, Tier: o.Tier, Source: o.Source, Since: o.Since, Start: moments[i], End: moments[i+1]}
		}
		for k, sg := range open {
			if !seen[k] {
				out = append(out, *sg)
				delete(open, k)
			}
		}
	}
	for _, sg := range open {
		out = append(out, *sg)
	}
	slices.SortFunc(out, func(a, b plannerSegment) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if a.Tier != b.Tier {
			return plannerTierRank(a.Tier) - plannerTierRank(b.Tier)
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	return out
}

func plannerTierRank(t int) int {
	if t == duty.ManagerTier {
		return 1 << 20
	}
	return t
}

func plannerTierLabel(t int) string {
	if t == duty.ManagerTier {
		return "Manager"
	}
	return fmt.Sprintf("Tier %d", t)
}

// The desktop grid has a row per half hour; each day column holds up to
// plannerMaxLanes blocks side by side.
const (
	plannerRows     = 48
	plannerMaxLanes = 4
)

// plannerWeek is what the week view shows.
type plannerWeek struct {
	Label           string
	ISO, Prev, Next string
	Days            []plannerDay
	Hours           []plannerHour
	HasBlocks       bool
	Start, End      time.Time
	location        *time.Location
	now             time.Time
	shifts          []duty.PlannedShift
	overrides       []duty.StoredOverride
	name            func(userID string) string
	color           func(userID string) int
}

type plannerHour struct {
	Label       string
	Row, RowEnd int
}

type plannerDay struct {
	Label, ISO string
	Today      bool
	Lanes      int
	Blocks     []plannerBlock
}

// plannerBlock is the part of a segment that falls on one day.
type plannerBlock struct {
	Name, Initials, Tier, Source string
	// Covers names whom an override replaces ("" for an added member).
	Covers      string
	Time, Full  string
	Row, RowEnd int
	Lane, Color int
	Continues   bool // goes on into the next day
	ShiftID     string
	Movable     bool
	ShiftStart  string // local "2006-01-02T15:04", for the drag script
	PieceStart  string
	tier        int
}

// plannerWeekStart returns local midnight of the Monday of the week that
// holds the day named by iso (YYYY-MM-DD), or of now's week if iso is empty
// or not a date.
func plannerWeekStart(iso string, now time.Time, loc *time.Location) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, iso, loc)
	if err != nil {
		n := now.In(loc)
		d = time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	}
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// layout cuts the resolved segments into day blocks and places them.
func (w *plannerWeek) layout(segs []plannerSegment) {
	loc := w.location
	today := w.now.In(loc).Format(time.DateOnly)
	for h := 0; h < 24; h += 2 {
		w.Hours = append(w.Hours, plannerHour{Label: fmt.Sprintf("%02d:00", h), Row: 2*h + 1, RowEnd: 2*h + 5})
	}
	for i := range 7 {
		dayStart := w.Start.AddDate(0, 0, i)
		dayEnd := w.Start.AddDate(0, 0, i+1)
		d := plannerDay{Label: dayStart.Format("Mon 2 Jan"), ISO: dayStart.Format(time.DateOnly)}
		d.Today = d.ISO == today
		for _, sg := range segs {
			if !sg.Start.Before(dayEnd) || !sg.End.After(dayStart) {
				continue
			}
			d.Blocks = append(d.Blocks, w.block(sg, dayStart, dayEnd))
		}
		w.HasBlocks = w.HasBlocks || len(d.Blocks) > 0
		w.Days = append(w.Days, d)
	}
	w.placeLanes()
}

// placeLanes gives each tier its own lanes, the same on every day, so that
// tier 1 is always left and the manager right; members of one tier on duty
// at the same time share their tier's lanes side by side.
func (w *plannerWeek) placeLanes() {
	need := map[int]int{}
	for _, d := range w.Days {
		byTier := map[int][]int{}
		for i, b := range d.Blocks {
			byTier[b.tier] = append(byTier[b.tier], i)
		}
		for tier, idx := range byTier {
			sub := make([]plannerBlock, len(idx))
			for j, i := range idx {
				sub[j] = d.Blocks[i]
			}
			need[tier] = max(need[tier], plannerLanes(sub))
			for j, i := range idx {
				d.Blocks[i].Lane = sub[j].Lane
			}
		}
	}
	tiers := slices.Collect(maps.Keys(need))
	slices.SortFunc(tiers, func(a, b int) int { return plannerTierRank(a) - plannerTierRank(b) })
	offset, total := map[int]int{}, 0
	for _, t := range tiers {
		offset[t] = total
		total += need[t]
	}
	for i := range w.Days {
		w.Days[i].Lanes = min(max(total, 1), plannerMaxLanes)
		for j := range w.Days[i].Blocks {
			b := &w.Days[i].Blocks[j]
			b.Lane = min(offset[b.tier]+b.Lane, plannerMaxLanes)
		}
	}
}

func (w *plannerWeek) block(sg plannerSegment, dayStart, dayEnd time.Time) plannerBlock {
	loc := w.location
	ps, pe := plannerLater(sg.Start, dayStart), plannerEarlier(sg.End, dayEnd)
	b := plannerBlock{Name: w.name(sg.UserID), Tier: plannerTierLabel(sg.Tier), Source: sg.Source, Color: w.color(sg.UserID),
		Continues: sg.End.After(dayEnd), tier: sg.Tier}
	b.Initials = initials(b.Name)
	startMin := ps.In(loc).Hour()*60 + ps.In(loc).Minute()
	endMin := 24 * 60
	if pe.Before(dayEnd) {
		endMin = pe.In(loc).Hour()*60 + pe.In(loc).Minute()
	}
	b.Row = startMin/30 + 1
	b.RowEnd = min(max((endMin+29)/30+1, b.Row+1), plannerRows+1)
	b.Time = ps.In(loc).Format("15:04") + "–" + pe.In(loc).Format("15:04")
	if b.Continues {
		b.Time = ps.In(loc).Format("15:04") + "–…"
	}
	b.Full = fmt.Sprintf("%s · %s · %s – %s (%s)", b.Name, b.Tier, sg.Start.In(loc).Format("Mon 2 Jan 15:04"), sg.End.In(loc).Format("Mon 2 Jan 15:04"), sg.Source)
	switch sg.Source {
	case "shift":
		for _, sh := range w.shifts {
			if sh.UserID == sg.UserID && sh.Tier == sg.Tier && sh.Start.Equal(sg.Since) {
				b.ShiftID = sh.ID
				b.Movable = !sh.Start.Before(w.now)
				b.ShiftStart = sh.Start.In(loc).Format(plannerLocalLayout)
				b.PieceStart = ps.In(loc).Format(plannerLocalLayout)
				break
			}
		}
	case "override":
		for _, o := range w.overrides {
			if o.ToUser == sg.UserID && !sg.Start.Before(o.Start) && sg.Start.Before(o.End) && (o.FromUser != "" || o.Tier == sg.Tier) {
				if o.FromUser != "" {
					b.Covers = w.name(o.FromUser)
					b.Full += " covering " + b.Covers
				}
				break
			}
		}
	}
	return b
}

// plannerLanes puts overlapping blocks side by side, first fit (Lane from
// 1), and returns how many lanes they need.
func plannerLanes(bs []plannerBlock) int {
	var laneEnd []int
	for i := range bs {
		lane := -1
		for l, end := range laneEnd {
			if end <= bs[i].Row {
				lane = l
				break
			}
		}
		if lane < 0 {
			if len(laneEnd) < plannerMaxLanes {
				laneEnd = append(laneEnd, 0)
				lane = len(laneEnd) - 1
			} else {
				lane = plannerMaxLanes - 1
			}
		}
		laneEnd[lane] = max(laneEnd[lane], bs[i].RowEnd)
		bs[i].Lane = lane + 1
	}
	return max(len(laneEnd), 1)
}

// plannerLocalLayout is how datetime-local inputs send a time.
const plannerLocalLayout = "2006-01-02T15:04"

func plannerLater(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func plannerEarlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
