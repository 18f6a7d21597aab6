package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
	"github.com/lastmile/lastmile/internal/web/session"
)

// The page benchmarks render through the whole handler (session, roles,
// queries, template) with 10,000 alerts in the store. Run them with
//
//	go test ./internal/web -run '^$' -bench 'InboxPage|AlertPage'
//
// and LASTMILE_TEST_POSTGRES_URL set for PostgreSQL too.

const benchAlerts = 10000

type benchWorld struct {
	handler http.Handler
	cookie  *http.Cookie
	// manager is a session of the team's admin, for the console's pages.
	manager *http.Cookie
	teamID  string
	// busy is an alert with a long timeline and many messages.
	busy string
}

// newBenchWorld seeds n alerts in the user's team; open is the share of
// them that is open (half new, half acknowledged).
func newBenchWorld(b *testing.B, d store.Dialect, n int, open float64) *benchWorld {
	b.Helper()
	ctx := context.Background()
	db := storetest.Open(b, d)
	c := clock.NewFake(time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)
	batch := store.NewBatcher(db, store.BatcherOptions{Logger: log})
	b.Cleanup(batch.Close)
	teams := team.NewService(db, c)
	alerts := alert.NewService(db, batch, c, teams)
	sessions := session.New(db, c, false)
	srv, err := New(Config{BaseURL: "http://lastmile.test", DB: db, Teams: teams, Alerts: alerts, Duty: duty.NewService(db, c, teams),
		Sessions: sessions, Clock: c, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	u, err := teams.CreateUser(ctx, team.NewUser{Email: "bench@example.com", Name: "Bench", Password: testPassword})
	if err != nil {
		b.Fatal(err)
	}
	tm, _, err := teams.CreateTeam(ctx, "Ops", "")
	if err != nil {
		b.Fatal(err)
	}
	other, _, err := teams.CreateTeam(ctx, "Elsewhere", "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := teams.AddMember(ctx, tm.ID, u.ID, team.RoleResponder); err != nil {
		b.Fatal(err)
	}
	boss, err := teams.CreateUser(ctx, team.NewUser{Email: "boss@example.com", Name: "Boss", Password: testPassword})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := teams.AddMember(ctx, tm.ID, boss.ID, team.RoleAdmin); err != nil {
		b.Fatal(err)
	}
	w := &benchWorld{handler: srv.Handler(), teamID: tm.ID}
	start := time.Now()
	w.busy = seedAlerts(b, db, tm.ID, other.ID, u.ID, c.Now(), n, open)
	b.Logf("%s: seeded %d alerts in %v", d, n, time.Since(start).Round(time.Millisecond))
	ss, err := sessions.Create(ctx, u.ID, "password", "bench")
	if err != nil {
		b.Fatal(err)
	}
	w.cookie = &http.Cookie{Name: sessions.CookieName(), Value: ss.ID}
	bs, err := sessions.Create(ctx, boss.ID, "password", "bench")
	if err != nil {
		b.Fatal(err)
	}
	w.manager = &http.Cookie{Name: sessions.CookieName(), Value: bs.ID}
	return w
}

// seedAlerts writes the alerts with SQL in one transaction, many rows per
// statement; a tenth go to another team, so the inbox has to filter. It
// returns the id of an alert with 40 timeline entries and 12 messages.
func seedAlerts(b *testing.B, db *store.DB, teamID, otherID, userID string, now time.Time, n int, open float64) string {
	b.Helper()
	sevs := []string{"critical", "high", "warning", "low", "info", ""}
	const rows = 200
	var busy string
	err := db.InTx(context.Background(), func(tx *store.Tx) error {
		ctx := context.Background()
		for from := 0; from < n; from += rows {
			var q, tq strings.Builder
			q.WriteString(`INSERT INTO alerts (id, team_id, status, title, text, severity, category, scenario, source_system, params, event_id,
				created_at, updated_at, acknowledged_at, acknowledged_by, closed_at, closed_by) VALUES `)
			tq.WriteString(`INSERT INTO timeline (alert_id, at, kind, actor_type, actor_name) VALUES `)
			var args, targs []any
			for i := from; i < min(from+rows, n); i++ {
				if i > from {
					q.WriteString(", ")
					tq.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				tq.WriteString("(?, ?, 'created', 'event', 'bench')")
				id := store.NewID()
				if busy == "" {
					busy = id
				}
				at := now.Add(-time.Duration(n-i) * time.Minute)
				tid := teamID
				if i%10 == 9 {
					tid = otherID
				}
				status, ackAt, ackBy, closedAt, closedBy := "closed", any(store.Micros(at)), "Bench", any(store.Micros(at)), "Bench"
				switch r := float64(i%1000) / 1000; {
				case r < open/2:
					status, ackAt, ackBy, closedAt, closedBy = "new", nil, "", nil, ""
				case r < open:
					status, closedAt, closedBy = "acknowledged", nil, ""
				}
				params := fmt.Sprintf(`[{"name":"Host","value":"web-%d"},{"name":"Check","value":"disk"},{"name":"Value","value":"%d%%"}]`, i%50, i%100)
				args = append(args, id, tid, status, fmt.Sprintf("Disk almost full on web-%d", i%50), "Filesystem /var is at 97%.\nGrowing 1 GB/h.",
					sevs[i%len(sevs)], "Storage", "single_ack", "Zabbix", params, store.NewID(), store.Micros(at), store.Micros(at), ackAt, ackBy, closedAt, closedBy)
				targs = append(targs, id, store.Micros(at))
			}
			if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, tq.String(), targs...); err != nil {
				return err
			}
		}
		for i := range 40 {
			kind := []string{"planned", "notified", "delivered", "escalated", "annotated"}[i%5]
			if _, err := tx.Exec(ctx, `INSERT INTO timeline (alert_id, at, kind, actor_type, actor_name, text) VALUES (?, ?, ?, 'system', 'lastmile', ?)`,
				busy, store.Micros(now.Add(time.Duration(i)*time.Second)), kind, fmt.Sprintf("push to bench@example.com (alert, round %d)", i)); err != nil {
				return err
			}
		}
		for i := range 12 {
			if _, err := tx.Exec(ctx, `INSERT INTO notifications (id, alert_id, team_id, user_id, channel, address, kind, round, tier, due_at, status, sent_at, created_at, dedup_key)
				VALUES (?, ?, ?, ?, ?, ?, 'alert', ?, 1, ?, 'sent', ?, ?, ?)`, store.NewID(), busy, teamID, userID, []string{"push", "sms", "voice"}[i%3], "addr",
				i/3+1, store.Micros(now), store.Micros(now), store.Micros(now), fmt.Sprintf("bench-%d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// A live database has its statistics (autovacuum, SQLite's optimize);
	// a bulk load just made has none, and its plans would measure that.
	if _, err := db.Exec(context.Background(), `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return busy
}

func (w *benchWorld) get(b *testing.B, path string) { w.getAs(b, w.cookie, path) }

func (w *benchWorld) getAs(b *testing.B, cookie *http.Cookie, path string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
	}
}

func BenchmarkInboxPage(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		for _, mix := range []struct {
			name string
			open float64
		}{{"20pct-open", 0.2}, {"all-open", 1}} {
			w := newBenchWorld(b, d, benchAlerts, mix.open)
			for _, page := range []struct{ name, path string }{
				{"open", "/inbox"},
				{"new", "/inbox?status=new"},
				{"closed", "/inbox?status=closed"},
				{"search", "/inbox?q=web-7"},
				{"partial", "/inbox?partial=1"},
			} {
				b.Run(string(d)+"/"+mix.name+"/"+page.name, func(b *testing.B) {
					for b.Loop() {
						w.get(b, page.path)
					}
				})
			}
		}
	}
}

func BenchmarkAlertPage(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		w := newBenchWorld(b, d, benchAlerts, 0.2)
		b.Run(string(d), func(b *testing.B) {
			for b.Loop() {
				w.get(b, "/alerts/"+w.busy)
			}
		})
	}
}

// The other pages with 10,000 alerts in the store: the responder's duty
// and profile, and the console's pages a team admin opens.
func BenchmarkOtherPages(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		w := newBenchWorld(b, d, benchAlerts, 0.2)
		for _, page := range []struct {
			name, path string
			manager    bool
		}{
			{"duty", "/duty", false},
			{"profile", "/profile", false},
			{"console", "/console", true},
			{"team", "/teams/" + w.teamID, true},
			{"planner", "/teams/" + w.teamID + "/planner", true},
			{"escalation", "/teams/" + w.teamID + "/escalation", true},
			{"reports", "/reports", true},
		} {
			cookie := w.cookie
			if page.manager {
				cookie = w.manager
			}
			b.Run(string(d)+"/"+page.name, func(b *testing.B) {
				for b.Loop() {
					w.getAs(b, cookie, page.path)
				}
			})
		}
	}
}
