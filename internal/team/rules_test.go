package team_test

import (
	"context"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

func TestAlertSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := team.NewService(db, clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		tm, _, err := s.CreateTeam(ctx, "Ops", "")
		if err != nil {
			t.Fatal(err)
		}
		if a, err := s.AlertSettings(ctx, tm.ID); err != nil || a != (team.AlertSettings{}) {
			t.Fatalf("defaults: %+v %v", a, err)
		}
		want := team.AlertSettings{TargetResponseSeconds: 300, RepeatEverySeconds: 120, RepeatLimit: 5, AckTimeoutSeconds: 3600}
		if _, err := s.SetAlertSettings(ctx, tm.ID, want); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.AlertSettings(ctx, tm.ID); a != want {
			t.Fatalf("read back %+v", a)
		}
		for _, bad := range []team.AlertSettings{
			{TargetResponseSeconds: 30},
			{RepeatEverySeconds: 8 * 24 * 3600},
			{RepeatLimit: 3},
			{RepeatEverySeconds: 60, RepeatLimit: 101},
			{AckTimeoutSeconds: -1},
		} {
			if _, err := s.SetAlertSettings(ctx, tm.ID, bad); apperr.KindOf(err) != apperr.Invalid {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		if _, err := s.SetAlertSettings(ctx, "nope", want); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("unknown team: %v", err)
		}
	})
}

func TestNotificationRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := team.NewService(db, clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		tm, _, _ := s.CreateTeam(ctx, "Ops", "")
		u, _ := s.CreateUser(ctx, team.NewUser{Email: "ann@example.com"})
		other, _ := s.CreateUser(ctx, team.NewUser{Email: "bob@example.com"})
		push, _ := s.AddContactMethod(ctx, u.ID, "push", "device-1", "")
		sms, _ := s.AddContactMethod(ctx, u.ID, "sms", "+4915112345678", "")
		voice, _ := s.AddContactMethod(ctx, u.ID, "voice", "+4915112345678", "")
		bobs, _ := s.AddContactMethod(ctx, other.ID, "email", "bob@example.com", "")

		// No rules anywhere: every contact method at once.
		eff, err := s.RulesFor(ctx, tm.ID, u.ID)
		if err != nil || len(eff) != 3 || eff[0].Delay != 0 || !eff[0].TeamDefault {
			t.Fatalf("no rules: %+v %v", eff, err)
		}
		// Team defaults: push at once, SMS after 2 minutes, voice after 5.
		if _, err := s.SetTeamRules(ctx, tm.ID, []team.TeamRule{{Channel: "voice", DelaySeconds: 300}, {Channel: "push"}, {Channel: "sms", DelaySeconds: 120}}); err != nil {
			t.Fatal(err)
		}
		eff, _ = s.RulesFor(ctx, tm.ID, u.ID)
		if len(eff) != 3 || eff[0].ContactMethodID != push.ID || eff[1].ContactMethodID != sms.ID || eff[1].Delay != 2*time.Minute || eff[2].ContactMethodID != voice.ID || eff[2].Delay != 5*time.Minute {
			t.Fatalf("team rules: %+v", eff)
		}
		// A member's own rules replace the team's.
		if _, err := s.SetUserRules(ctx, u.ID, []team.UserRule{{ContactMethodID: sms.ID, DelaySeconds: 0}}); err != nil {
			t.Fatal(err)
		}
		eff, _ = s.RulesFor(ctx, tm.ID, u.ID)
		if len(eff) != 1 || eff[0].Channel != "sms" || eff[0].Address != "+4915112345678" || eff[0].TeamDefault {
			t.Fatalf("own rules: %+v", eff)
		}
		for _, bad := range [][]team.UserRule{
			{{ContactMethodID: bobs.ID}},
			{{ContactMethodID: sms.ID, DelaySeconds: -5}},
		} {
			if _, err := s.SetUserRules(ctx, u.ID, bad); apperr.KindOf(err) != apperr.Invalid {
				t.Errorf("bad user rules %+v: %v", bad, err)
			}
		}
		if _, err := s.SetTeamRules(ctx, tm.ID, []team.TeamRule{{Channel: "pager"}}); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("unknown channel: %v", err)
		}
		// Deleting a contact method drops the rules that use it.
		if err := s.DeleteContactMethod(ctx, u.ID, sms.ID); err != nil {
			t.Fatal(err)
		}
		if rs, _ := s.UserRules(ctx, u.ID); len(rs) != 0 {
			t.Fatalf("rules after deleting their contact method: %+v", rs)
		}
		// Clearing own rules falls back to the team defaults.
		eff, _ = s.RulesFor(ctx, tm.ID, u.ID)
		if len(eff) != 2 || !eff[0].TeamDefault {
			t.Fatalf("fallback: %+v", eff)
		}
	})
}
