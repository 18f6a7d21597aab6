// Package escalation turns an alert and the team's duty into a plan: whom to
// notify first, how many acknowledgements end it, when each member is
// reached on which contact method (with repeats), and whom to escalate to
// when nobody answers in time. It is pure: the engine that runs the plan
// asks it at each step, with who is on duty then.
package escalation

import (
	"slices"
	"time"

	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

// Recipients is whom an alert notifies and what ends it.
type Recipients struct {
	Users []string
	// Tier is the duty tier notified (duty.ManagerTier for the manager);
	// -1 for emergency and for the fallback to the whole team.
	Tier int
	// AcksRequired is how many acknowledgements end notifying.
	AcksRequired int
	// NobodyOnDuty is set when the whole team is notified because nobody
	// was on duty: an alert is never left with no one to reach.
	NobodyOnDuty bool
}

// Initial decides whom a new alert notifies:
//   - single_ack: the members on duty at the first staffed tier (1, 2, …, then
//     the manager); one acknowledgement ends it.
//   - multi_ack: the same members; as many acknowledgements as them.
//   - emergency: every member of the team, regardless of duty; each must
//     acknowledge.
//
// With nobody on duty, the whole team is notified.
func Initial(scenario string, onDuty []duty.OnDuty, members []string) Recipients {
	if scenario == team.ScenarioEmergency {
		return Recipients{Users: slices.Clone(members), Tier: -1, AcksRequired: max(1, len(members))}
	}
	tier, users, ok := firstStaffed(onDuty, 1)
	if !ok {
		return Recipients{Users: slices.Clone(members), Tier: -1, AcksRequired: 1, NobodyOnDuty: true}
	}
	r := Recipients{Users: users, Tier: tier, AcksRequired: 1}
	if scenario == team.ScenarioMultiAck {
		r.AcksRequired = len(users)
	}
	return r
}

// Next returns the level to escalate to from tier: the next higher numbered
// tier that has someone on duty, then the manager on duty. ok is false when
// there is nowhere left to go.
func Next(onDuty []duty.OnDuty, tier int) (next int, users []string, ok bool) {
	if tier == duty.ManagerTier || tier < 0 {
		return 0, nil, false
	}
	return firstStaffed(onDuty, tier+1)
}

// firstStaffed returns the first tier from "from" upwards with members on
// duty, the manager tier last.
func firstStaffed(onDuty []duty.OnDuty, from int) (int, []string, bool) {
	var tiers []int
	for _, o := range onDuty {
		if o.Tier >= from && !slices.Contains(tiers, o.Tier) {
			tiers = append(tiers, o.Tier)
		}
	}
	slices.Sort(tiers)
	for _, t := range tiers {
		if us := duty.Tier(onDuty, t); len(us) > 0 {
			return t, us, true
		}
	}
	if us := duty.Tier(onDuty, duty.ManagerTier); len(us) > 0 {
		return duty.ManagerTier, us, true
	}
	return 0, nil, false
}

// Step is one notification to send: a member, one of their contact
// methods, when, and in which round (0 first, then the repeats).
type Step struct {
	At     time.Time
	UserID string
	Rule   team.EffectiveRule
	Round  int
}

// Schedule lists the notifications that reach a member who was first
// notified at start and never acknowledges: every rule at start plus its
// delay, then, with persistent notification on, the same again every
// RepeatEverySeconds, RepeatLimit times. Steps are in time order.
func Schedule(start time.Time, userID string, rules []team.EffectiveRule, s team.AlertSettings) []Step {
	rounds := 1
	if s.RepeatEverySeconds > 0 {
		rounds += s.RepeatLimit
	}
	every := time.Duration(s.RepeatEverySeconds) * time.Second
	var out []Step
	for round := range rounds {
		base := start.Add(time.Duration(round) * every)
		for _, r := range rules {
			out = append(out, Step{At: base.Add(r.Delay), UserID: userID, Rule: r, Round: round})
		}
	}
	slices.SortStableFunc(out, func(a, b Step) int { return a.At.Compare(b.At) })
	return out
}

// EscalationDue returns when an alert notified at start escalates if nobody
// acknowledges, or false when the team escalates never.
func EscalationDue(start time.Time, s team.AlertSettings) (time.Time, bool) {
	if s.TargetResponseSeconds <= 0 {
		return time.Time{}, false
	}
	return start.Add(time.Duration(s.TargetResponseSeconds) * time.Second), true
}

// AckTimeoutDue returns when an alert acknowledged at ackedAt, and not
// closed, is notified again, or false when the team has no ack timeout.
func AckTimeoutDue(ackedAt time.Time, s team.AlertSettings) (time.Time, bool) {
	if s.AckTimeoutSeconds <= 0 {
		return time.Time{}, false
	}
	return ackedAt.Add(time.Duration(s.AckTimeoutSeconds) * time.Second), true
}
