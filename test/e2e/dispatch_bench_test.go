package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

// BenchmarkDispatchToProvider measures how many notifications the engine
// hands to a provider per second, and the time from planning a message to
// the provider receiving it. The provider is the real webhook channel
// (signed JSON over HTTP) posting to a local server. 500 alerts arrive as
// fast as 32 writers can open them, for 20 members on duty with a webhook
// address each: 10,000 messages (webhooks have no per-address limits).
func BenchmarkDispatchToProvider(b *testing.B) {
	const alerts, members = 10000, 20
	for _, d := range storetest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				var mu sync.Mutex
				arrived := map[string]time.Time{}
				done := make(chan struct{})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
					now := time.Now()
					mu.Lock()
					arrived[r.Header.Get("X-Lastmile-Event-Id")] = now
					if len(arrived) == alerts {
						close(done)
					}
					mu.Unlock()
				}))
				ctx := context.Background()
				cfg := config(storetest.URL(b, d))
				cfg.AllowPrivateWebhooks = true
				a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), clock.Real{})
				if err != nil {
					b.Fatal(err)
				}
				if err := a.Start(); err != nil {
					b.Fatal(err)
				}
				tm, _, _ := a.Teams.CreateTeam(ctx, "Ops", "")
				for i := range members {
					u, _ := a.Teams.CreateUser(ctx, team.NewUser{Email: fmt.Sprintf("m%d@example.com", i)})
					a.Teams.AddMember(ctx, tm.ID, u.ID, team.RoleResponder)
					a.Teams.AddContactMethod(ctx, u.ID, "webhook", fmt.Sprintf("%s/m%d", srv.URL, i), "")
					a.Duty.PunchIn(ctx, tm.ID, u.ID, false)
				}
				a.Teams.SetTeamRules(ctx, tm.ID, []team.TeamRule{{Channel: "webhook"}})
				b.StartTimer()
				start := time.Now()
				var wg sync.WaitGroup
				next := make(chan int)
				for range 32 {
					wg.Go(func() {
						for i := range next {
							body := fmt.Sprintf(`{"Title":"load %d"}`, i)
							bd, _ := ingest.ParseBody("application/json", []byte(body), ingest.DefaultLimits)
							ev := ingest.Interpret(bd, ingest.Mapping{}, http.Header{})
							if _, err := a.Alerts.Ingest(ctx, alert.Inbound{Team: tm, Raw: alert.Raw{Source: "webhook", Headers: map[string]string{}, Body: []byte(body)}, Event: &ev}); err != nil {
								b.Error(err)
							}
							a.Engine.Wake()
						}
					})
				}
				for i := range alerts / members {
					next <- i
				}
				close(next)
				wg.Wait()
				select {
				case <-done:
				case <-time.After(5 * time.Minute):
					b.Fatalf("only %d of %d messages arrived", len(arrived), alerts)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				lat := planToProvider(b, a.DB, arrived)
				b.ReportMetric(float64(alerts)/elapsed.Seconds(), "msgs/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-plan-to-provider-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-plan-to-provider-ms")
				a.Stop(ctx)
				srv.Close()
				b.StartTimer()
			}
		})
	}
}

// planToProvider returns the sorted times from each message's planning
// (its row's created_at) to its arrival at the provider.
func planToProvider(b *testing.B, db *store.DB, arrived map[string]time.Time) []time.Duration {
	rows, err := db.Query(context.Background(), `SELECT id, created_at FROM notifications`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var lat []time.Duration
	for rows.Next() {
		var id string
		var created int64
		rows.Scan(&id, &created)
		if at, ok := arrived[id]; ok {
			lat = append(lat, at.Sub(store.FromMicros(created)))
		}
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no latencies")
	}
	return lat
}
