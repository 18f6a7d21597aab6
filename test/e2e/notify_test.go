package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

// signal is a push channel that reports each message as it is handed over.
type signal struct{ got chan notify.Message }

func (s signal) Name() string { return "push" }

func (s signal) Send(ctx context.Context, m notify.Message) (string, error) {
	s.got <- m
	return "", nil
}

// startWithPush runs the app with a member on duty who has a push contact
// method, and returns the app, the team secret and the channel.
func startWithPush(t testing.TB, d store.Dialect) (*app.App, string, signal) {
	t.Helper()
	ctx := context.Background()
	ch := signal{got: make(chan notify.Message, 1024)}
	cfg := config(storetest.URL(t, d))
	cfg.ChannelLimits = "push=" // one device gets every alert here: measure the engine, not the limits
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), clock.Real{}, ch)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	tm, secret, err := a.Teams.CreateTeam(ctx, "Ops", "")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := a.Teams.CreateUser(ctx, team.NewUser{Email: "ann@example.com"})
	a.Teams.AddMember(ctx, tm.ID, u.ID, team.RoleResponder)
	a.Teams.AddContactMethod(ctx, u.ID, "push", "device-1", "")
	if _, err := a.Duty.PunchIn(ctx, tm.ID, u.ID, false); err != nil {
		t.Fatal(err)
	}
	return a, secret, ch
}

// A webhook event reaches the member on duty without waiting for a poll.
func TestWebhookToFirstNotification(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			a, secret, ch := startWithPush(t, d)
			resp, err := http.Post("http://"+a.Addr()+"/webhook/"+secret, "application/json", strings.NewReader(`{"Title":"Disk full","Message":"/var at 99%"}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 201 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			select {
			case m := <-ch.got:
				if m.Title != "Disk full" || m.Address != "device-1" || m.Kind != "alert" {
					t.Fatalf("message %+v", m)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no notification")
			}
		})
	}
}

// BenchmarkAcceptedToNotified measures the time from a webhook's 201 to the
// first message handed to a channel, one alert at a time.
func BenchmarkAcceptedToNotified(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			a, secret, ch := startWithPush(b, d)
			url := "http://" + a.Addr() + "/webhook/" + secret
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				resp, err := http.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"Title":"bench %d"}`, i)))
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				accepted := time.Now()
				<-ch.got
				lat = append(lat, time.Since(accepted))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
