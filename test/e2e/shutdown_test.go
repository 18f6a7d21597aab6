package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

// A stop while a sender is still uploading waits for that request, stores
// its event and answers it, and only then closes.
func TestGracefulStopFinishesRequestsInFlight(t *testing.T) {
	ctx := context.Background()
	url := storetest.URL(t, store.SQLite)
	a, err := app.New(ctx, config(url), slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	_, secret, err := a.Teams.CreateTeam(ctx, "Ops", "")
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Post("http://"+a.Addr()+"/webhook/"+secret, "application/json", pr)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	pw.Write([]byte(`{"Title":"in flight",`))
	time.Sleep(100 * time.Millisecond) // the request is now being read

	stopped := make(chan error, 1)
	go func() { stopped <- a.Stop(ctx) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a request was in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	pw.Write([]byte(`"X-S4-ExternalID":"late"}`))
	pw.Close()
	if r := <-done; r.err != nil || r.status != http.StatusCreated {
		t.Fatalf("in-flight request: status %d, err %v", r.status, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	b, err := app.New(ctx, config(url), slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)
	var n int
	if err := b.DB.QueryRow(ctx, `SELECT COUNT(*) FROM alerts WHERE external_id = 'late'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("alert of the in-flight request: %d (%v)", n, err)
	}
}
