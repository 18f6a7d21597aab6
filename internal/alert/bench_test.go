package alert_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

// BenchmarkIngest measures the store side of an inbound event (parse,
// interpret, group-committed write) without HTTP, with 32 callers per core.
// It writes with synchronous=full on SQLite, as the server does by default.
func BenchmarkIngest(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			db, err := store.Open(ctx, storetest.URL(b, d), store.Options{SQLiteSynchronous: "full", MaxConns: 16})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx, time.Now); err != nil {
				b.Fatal(err)
			}
			batch := store.NewBatcher(db, store.BatcherOptions{Logger: slog.New(slog.DiscardHandler)})
			defer batch.Close()
			teams := team.NewService(db, clock.Real{})
			svc := alert.NewService(db, batch, clock.Real{}, teams)
			if err := svc.Prepare(ctx); err != nil {
				b.Fatal(err)
			}
			tm, _, err := teams.CreateTeam(ctx, "Bench", "")
			if err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					body := fmt.Appendf(nil, `{"Title":"CPU high on web-%d","Message":"load 12.5","X-S4-ExternalID":"bench-%d","Host":"web-%d","Severity":"high"}`, i%50, i, i%50)
					pb, err := ingest.ParseBody("application/json", body, ingest.DefaultLimits)
					if err != nil {
						b.Error(err)
						return
					}
					ev := ingest.Interpret(pb, ingest.Mapping{}, http.Header{})
					raw := alert.Raw{Source: "webhook", ContentType: "application/json", Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
					if _, err := svc.Ingest(ctx, alert.Inbound{Team: tm, Raw: raw, Event: &ev}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
