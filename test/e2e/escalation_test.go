package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

// collector records messages of every channel it stands in for.
type collector struct {
	name string
	mu   *sync.Mutex
	got  *[]string
}

func (c collector) Name() string { return c.name }

func (c collector) Send(ctx context.Context, m notify.Message) (string, error) {
	c.mu.Lock()
	*c.got = append(*c.got, c.name)
	c.mu.Unlock()
	return "", nil
}

// The whole system with a fake clock: an alert raised over HTTP is pushed at
// once and texted at minute 2; acknowledging over HTTP at minute 3 stops
// the voice call planned for minute 5.
func TestEscalationOverHTTPWithAFakeClock(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			fake := clock.NewFake(time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))
			var mu sync.Mutex
			var got []string
			var chs []notify.Channel
			for _, n := range []string{"push", "sms", "voice"} {
				chs = append(chs, collector{n, &mu, &got})
			}
			a, err := app.New(ctx, config(storetest.URL(t, d)), slog.New(slog.DiscardHandler), fake, chs...)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			defer a.Stop(ctx)
			tm, secret, _ := a.Teams.CreateTeam(ctx, "Ops", "")
			u, _ := a.Teams.CreateUser(ctx, team.NewUser{Email: "ann@example.com", IsAdmin: true})
			_, key, _ := a.Teams.CreateAPIKey(ctx, u.ID, "")
			a.Teams.AddMember(ctx, tm.ID, u.ID, team.RoleResponder)
			for _, c := range [][2]string{{"push", "device-1"}, {"sms", "+4915112345678"}, {"voice", "+4915112345678"}} {
				cm, err := a.Teams.AddContactMethod(ctx, u.ID, c[0], c[1], "")
				if err != nil {
					t.Fatal(err)
				}
				a.Teams.MarkVerified(ctx, u.ID, cm.ID)
			}
			a.Teams.SetTeamRules(ctx, tm.ID, []team.TeamRule{{Channel: "push"}, {Channel: "sms", DelaySeconds: 120}, {Channel: "voice", DelaySeconds: 300}})
			if _, err := a.Duty.PunchIn(ctx, tm.ID, u.ID, false); err != nil {
				t.Fatal(err)
			}
			sent := func() string {
				mu.Lock()
				defer mu.Unlock()
				return strings.Join(got, " ")
			}
			waitFor := func(want string) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for sent() != want {
					if time.Now().After(deadline) {
						t.Fatalf("sent %q, want %q", sent(), want)
					}
					a.Engine.Wake()
					time.Sleep(10 * time.Millisecond)
				}
			}
			resp, err := http.Post("http://"+a.Addr()+"/webhook/"+secret, "application/json", strings.NewReader(`{"Title":"db down"}`))
			if err != nil || resp.StatusCode != 201 {
				t.Fatalf("webhook: %v %v", resp, err)
			}
			alertID := resp.Header.Get("X-Lastmile-Alert-Id")
			resp.Body.Close()
			waitFor("push")
			fake.Advance(2 * time.Minute)
			waitFor("push sms")
			fake.Advance(time.Minute)
			req, _ := http.NewRequest("POST", "http://"+a.Addr()+"/api/v1/alerts/"+alertID+"/acknowledge", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err = http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("acknowledge: %v %v", resp, err)
			}
			resp.Body.Close()
			fake.Advance(10 * time.Minute)
			for range 20 { // give the engine every chance to send what it must not
				a.Engine.Wake()
				time.Sleep(10 * time.Millisecond)
			}
			if s := sent(); s != "push sms" {
				t.Fatalf("after the acknowledgement: %q", s)
			}
		})
	}
}
