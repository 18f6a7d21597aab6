package escalation

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

func on(entries ...string) []duty.OnDuty {
	var out []duty.OnDuty
	for _, e := range entries {
		var tier int
		var user string
		fmt.Sscanf(strings.Replace(e, ":", " ", 1), "%d %s", &tier, &user)
		out = append(out, duty.OnDuty{UserID: user, Tier: tier})
	}
	return out
}

func TestInitial(t *testing.T) {
	members := []string{"ann", "bob", "cid", "max"}
	cases := []struct {
		name     string
		scenario string
		onDuty   []duty.OnDuty
		users    []string
		tier     int
		acks     int
		nobody   bool
	}{
		{"single ack notifies tier 1", team.ScenarioSingleAck, on("1:ann", "1:bob", "2:cid", "0:max"), []string{"ann", "bob"}, 1, 1, false},
		{"multi ack needs everyone on duty", team.ScenarioMultiAck, on("1:ann", "1:bob", "1:cid", "0:max"), []string{"ann", "bob", "cid"}, 1, 3, false},
		{"empty tier 1 goes to tier 2", team.ScenarioSingleAck, on("2:cid", "0:max"), []string{"cid"}, 2, 1, false},
		{"only a manager on duty", team.ScenarioMultiAck, on("0:max"), []string{"max"}, duty.ManagerTier, 1, false},
		{"emergency is the whole team", team.ScenarioEmergency, on("1:ann"), members, -1, 4, false},
		{"nobody on duty reaches the team", team.ScenarioSingleAck, nil, members, -1, 1, true},
	}
	for _, c := range cases {
		r := Initial(c.scenario, c.onDuty, members)
		if !slices.Equal(r.Users, c.users) || r.Tier != c.tier || r.AcksRequired != c.acks || r.NobodyOnDuty != c.nobody {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
}

func TestNext(t *testing.T) {
	od := on("1:ann", "3:cid", "0:max")
	steps := []string{}
	tier := 1
	for {
		next, users, ok := Next(od, tier)
		if !ok {
			break
		}
		steps = append(steps, fmt.Sprintf("%d:%v", next, users))
		tier = next
	}
	if got := strings.Join(steps, " "); got != "3:[cid] 0:[max]" {
		t.Fatalf("ladder %s", got)
	}
	if _, _, ok := Next(on("1:ann"), 1); ok {
		t.Fatal("escalated with nobody above")
	}
	if _, _, ok := Next(od, -1); ok {
		t.Fatal("escalated from the whole team")
	}
}

func TestSchedule(t *testing.T) {
	start := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	rules := []team.EffectiveRule{
		{ContactMethodID: "push", Channel: "push", Delay: 0},
		{ContactMethodID: "sms", Channel: "sms", Delay: 2 * time.Minute},
		{ContactMethodID: "voice", Channel: "voice", Delay: 5 * time.Minute},
	}
	var got []string
	for _, s := range Schedule(start, "ann", rules, team.AlertSettings{RepeatEverySeconds: 240, RepeatLimit: 1}) {
		got = append(got, fmt.Sprintf("%s@%s#%d", s.Rule.Channel, s.At.Sub(start), s.Round))
	}
	want := "push@0s#0 sms@2m0s#0 push@4m0s#1 voice@5m0s#0 sms@6m0s#1 voice@9m0s#1"
	if strings.Join(got, " ") != want {
		t.Fatalf("schedule\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if n := len(Schedule(start, "ann", rules, team.AlertSettings{})); n != 3 {
		t.Fatalf("without repeats: %d steps", n)
	}
	if n := len(Schedule(start, "ann", rules, team.AlertSettings{RepeatLimit: 3})); n != 3 {
		t.Fatalf("a repeat limit without an interval repeats: %d steps", n)
	}
}

func TestDueTimes(t *testing.T) {
	start := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	if at, ok := EscalationDue(start, team.AlertSettings{TargetResponseSeconds: 300}); !ok || at.Sub(start) != 5*time.Minute {
		t.Fatalf("escalation %v %v", at, ok)
	}
	if _, ok := EscalationDue(start, team.AlertSettings{}); ok {
		t.Fatal("escalation without a target response time")
	}
	if at, ok := AckTimeoutDue(start, team.AlertSettings{AckTimeoutSeconds: 3600}); !ok || at.Sub(start) != time.Hour {
		t.Fatalf("ack timeout %v %v", at, ok)
	}
	if _, ok := AckTimeoutDue(start, team.AlertSettings{}); ok {
		t.Fatal("ack timeout when off")
	}
}
