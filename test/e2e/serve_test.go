// Package e2e runs the real application in-process, as `lastmile serve` does.
package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

func config(dbURL string) app.Config {
	return app.Config{Listen: "127.0.0.1:0", DatabaseURL: dbURL, LogLevel: "info", LogFormat: "text",
		SQLiteSynchronous: "full", PostgresSynchronousCommit: "on", DBMaxConns: 4, MaxBodyBytes: 25 << 20,
		Migrate: true, ShutdownTimeout: 10 * time.Second, EncryptionKey: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
}

// Two instances share one database: either accepts events, dedup holds
// across them, and a graceful stop loses none that were answered.
func TestTwoInstancesShareOneDatabase(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, d)
			log := slog.New(slog.DiscardHandler)
			var apps []*app.App
			for range 2 {
				a, err := app.New(ctx, config(url), log, clock.Real{})
				if err != nil {
					t.Fatal(err)
				}
				if err := a.Start(); err != nil {
					t.Fatal(err)
				}
				apps = append(apps, a)
			}
			_, secret, err := apps[0].Teams.CreateTeam(ctx, "Ops", "")
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			accepted := map[string]bool{}
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					a := apps[i%2]
					resp, err := http.Post("http://"+a.Addr()+"/webhook/"+secret, "application/json", strings.NewReader(`{"Title":"shared","X-S4-ExternalID":"one"}`))
					if err != nil {
						t.Error(err)
						return
					}
					defer resp.Body.Close()
					var body struct{ EventID string }
					json.NewDecoder(resp.Body).Decode(&body)
					if resp.StatusCode != 201 {
						t.Errorf("status %d", resp.StatusCode)
						return
					}
					mu.Lock()
					accepted[body.EventID] = true
					mu.Unlock()
				}()
			}
			wg.Wait()
			for _, a := range apps {
				if err := a.Stop(ctx); err != nil {
					t.Fatalf("stop: %v", err)
				}
			}
			// Reopen and check every answered event is there, with one alert.
			a, err := app.New(ctx, config(url), log, clock.Real{})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Stop(ctx)
			for id := range accepted {
				if _, err := a.Alerts.Event(ctx, id); err != nil {
					t.Fatalf("accepted event %s lost: %v", id, err)
				}
			}
			var n int
			if err := a.DB.QueryRow(ctx, `SELECT COUNT(*) FROM alerts WHERE external_id = 'one'`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("alerts for one external id: %d (%v)", n, err)
			}
			if len(accepted) != 40 {
				t.Fatalf("%d events accepted, want 40", len(accepted))
			}
		})
	}
}
