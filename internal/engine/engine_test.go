package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/engine"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

type world struct {
	t        *testing.T
	ctx      context.Context
	db       *store.DB
	clock    *clock.Fake
	teams    *team.Service
	duty     *duty.Service
	alerts   *alert.Service
	channels *notify.Registry
	rec      map[string]*notify.Recorder
	team     team.Team
	users    map[string]string // name → id
	names    map[string]string // id → name
	limits   notify.Limits     // nil: the defaults
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)
	batch := store.NewBatcher(db, store.BatcherOptions{Logger: log})
	t.Cleanup(batch.Close)
	ts := team.NewService(db, c)
	w := &world{t: t, ctx: ctx, db: db, clock: c, teams: ts, duty: duty.NewService(db, c, ts), alerts: alert.NewService(db, batch, c, ts),
		rec: map[string]*notify.Recorder{}, users: map[string]string{}, names: map[string]string{}}
	var chs []notify.Channel
	for _, name := range []string{"push", "sms", "voice"} {
		w.rec[name] = notify.NewRecorder(name)
		chs = append(chs, w.rec[name])
	}
	w.channels = notify.NewRegistry(chs...)
	var err error
	if w.team, _, err = ts.CreateTeam(ctx, "Ops", ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ann", "bob", "cid", "max"} {
		u, err := ts.CreateUser(ctx, team.NewUser{Email: name + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		w.users[name], w.names[u.ID] = u.ID, name
		if _, err := ts.AddMember(ctx, w.team.ID, u.ID, team.RoleResponder); err != nil {
			t.Fatal(err)
		}
		for _, ch := range []string{"push", "sms", "voice"} {
			addr := "device-" + name
			if ch != "push" {
				addr = "+4915112345" + fmt.Sprint(len(w.users))
			}
			c, err := ts.AddContactMethod(ctx, u.ID, ch, addr, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ts.MarkVerified(ctx, u.ID, c.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := ts.SetTeamRules(ctx, w.team.ID, []team.TeamRule{{Channel: "push"}, {Channel: "sms", DelaySeconds: 120}, {Channel: "voice", DelaySeconds: 300}}); err != nil {
		t.Fatal(err)
	}
	return w
}

// pushOnly makes the team reach its members by push alone.
func (w *world) pushOnly() {
	w.t.Helper()
	if _, err := w.teams.SetTeamRules(w.ctx, w.team.ID, []team.TeamRule{{Channel: "push"}}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) engine(id string) *engine.Engine {
	return engine.New(w.db, w.clock, w.teams, w.duty, w.channels, slog.New(slog.DiscardHandler), engine.Options{InstanceID: id, Limits: w.limits})
}

func (w *world) punch(name string, manager bool) {
	w.t.Helper()
	if _, err := w.duty.PunchIn(w.ctx, w.team.ID, w.users[name], manager); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) shift(name string, tier int) {
	w.t.Helper()
	now := w.clock.Now()
	if _, err := w.duty.AddShifts(w.ctx, w.team.ID, []duty.PlannedShift{{UserID: w.users[name], Tier: tier, Start: now, End: now.Add(24 * time.Hour)}}, false); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) raise(body string) string {
	w.t.Helper()
	b, err := ingest.ParseBody("application/json", []byte(body), ingest.DefaultLimits)
	if err != nil {
		w.t.Fatal(err)
	}
	ev := ingest.Interpret(b, ingest.Mapping{}, http.Header{})
	out, err := w.alerts.Ingest(w.ctx, alert.Inbound{Team: w.team, Raw: alert.Raw{Source: "webhook", Headers: map[string]string{}, Body: []byte(body)}, Event: &ev})
	if err != nil || out.Status != alert.EventCreated {
		w.t.Fatalf("raise: %+v %v", out, err)
	}
	return out.AlertID
}

// sent lists "name:channel" of everything sent so far, in send order per
// channel, sorted for comparison.
func (w *world) sent() string {
	var out []string
	for ch, r := range w.rec {
		for _, m := range r.Sent() {
			out = append(out, w.names[m.UserID]+":"+ch)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func (w *world) run(e *engine.Engine) {
	w.t.Helper()
	if err := e.RunOnce(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) advance(d time.Duration, e *engine.Engine) {
	w.clock.Advance(d)
	w.run(e)
}

// Acknowledging at minute 3 stops the voice call planned for minute 5:
// nothing is sent after the acknowledgement.
func TestAcknowledgeStopsThePlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.punch("ann", false)
		e := w.engine("e1")
		id := w.raise(`{"Title":"db down"}`)
		w.run(e)
		if got := w.sent(); got != "ann:push" {
			t.Fatalf("at once: %q", got)
		}
		w.advance(2*time.Minute, e)
		if got := w.sent(); got != "ann:push ann:sms" {
			t.Fatalf("after 2 minutes: %q", got)
		}
		w.clock.Advance(time.Minute)
		if _, err := w.alerts.Transition(w.ctx, id, "acknowledge", alert.UserActor(team.User{ID: w.users["ann"], Email: "ann@example.com"}), "", func(string) bool { return true }); err != nil {
			t.Fatal(err)
		}
		w.advance(10*time.Minute, e)
		if got := w.sent(); got != "ann:push ann:sms" {
			t.Fatalf("after the acknowledgement: %q", got)
		}
		var cancelled int
		db.QueryRow(w.ctx, `SELECT COUNT(*) FROM notifications WHERE alert_id = ? AND status = 'cancelled'`, id).Scan(&cancelled)
		if cancelled != 1 {
			t.Fatalf("cancelled messages: %d, want the voice call", cancelled)
		}
		tl, _ := w.alerts.Timeline(w.ctx, id)
		var kinds []string
		for _, x := range tl {
			kinds = append(kinds, x.Kind)
		}
		if got := strings.Join(kinds, " "); got != "created planned notified notified acknowledged" {
			t.Fatalf("timeline: %s", got)
		}
	})
}

// Nobody acknowledges: tier 1, then tier 2 at the target response time,
// then the manager on duty, then nothing more.
func TestEscalationThroughTiersToTheManager(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.pushOnly()
		if _, err := w.teams.SetAlertSettings(w.ctx, w.team.ID, team.AlertSettings{TargetResponseSeconds: 300}); err != nil {
			t.Fatal(err)
		}
		w.shift("ann", 1)
		w.shift("bob", 2)
		w.punch("max", true)
		e := w.engine("e1")
		id := w.raise(`{"Title":"disk full"}`)
		w.run(e)
		w.advance(4*time.Minute+59*time.Second, e)
		if got := w.sent(); got != "ann:push" {
			t.Fatalf("before the target response time: %q", got)
		}
		w.advance(time.Second, e)
		if got := w.sent(); got != "ann:push bob:push" {
			t.Fatalf("at 5 minutes: %q", got)
		}
		w.advance(5*time.Minute, e)
		if got := w.sent(); got != "ann:push bob:push max:push" {
			t.Fatalf("at 10 minutes: %q", got)
		}
		w.advance(30*time.Minute, e)
		if got := w.sent(); got != "ann:push bob:push max:push" {
			t.Fatalf("after the manager: %q", got)
		}
		tl, _ := w.alerts.Timeline(w.ctx, id)
		escalations := 0
		for _, x := range tl {
			if x.Kind == alert.KindEscalated {
				escalations++
			}
		}
		if escalations != 2 {
			t.Fatalf("escalations on the timeline: %d", escalations)
		}
	})
}

func TestScenariosAndRepeats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.pushOnly()
		e := w.engine("e1")
		// Nobody on duty: the whole team, rather than nobody.
		w.raise(`{"Title":"a"}`)
		w.run(e)
		if got := w.sent(); got != "ann:push bob:push cid:push max:push" {
			t.Fatalf("nobody on duty: %q", got)
		}
		// multi_ack: as many acknowledgements as people on duty.
		w.punch("ann", false)
		w.punch("bob", false)
		w.punch("cid", false)
		id := w.raise(`{"Title":"b","X-S4-AlertingScenario":"multi_ack"}`)
		w.run(e)
		if a, _ := w.alerts.Get(w.ctx, id); a.AcksRequired != 3 {
			t.Fatalf("acks required %d", a.AcksRequired)
		}
		// Persistent notification: every 2 minutes, twice more.
		if _, err := w.teams.SetAlertSettings(w.ctx, w.team.ID, team.AlertSettings{RepeatEverySeconds: 120, RepeatLimit: 2}); err != nil {
			t.Fatal(err)
		}
		for _, r := range w.rec {
			r.FailWith(nil)
		}
		before := len(w.rec["push"].Sent())
		w.raise(`{"Title":"c","X-S4-AlertingScenario":"emergency"}`)
		w.run(e)
		for range 3 {
			w.advance(2*time.Minute, e)
		}
		if got := len(w.rec["push"].Sent()) - before; got != 4*3 {
			t.Fatalf("emergency with two repeats sent %d pushes, want 12", got)
		}
	})
}

// A failing provider is retried with backoff; a permanent failure is
// recorded and not retried.
func TestRetriesAndPermanentFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.pushOnly()
		w.punch("ann", false)
		e := w.engine("e1")
		w.rec["push"].FailWith(fmt.Errorf("provider down"))
		id := w.raise(`{"Title":"x"}`)
		w.run(e)
		w.rec["push"].FailWith(nil)
		w.advance(5*time.Second, e)
		if got := w.sent(); got != "" {
			t.Fatalf("retried before the backoff: %q", got)
		}
		w.advance(5*time.Second, e)
		if got := w.sent(); got != "ann:push" {
			t.Fatalf("after the backoff: %q", got)
		}
		w.rec["push"].FailWith(notify.Permanent(fmt.Errorf("unknown device")))
		id2 := w.raise(`{"Title":"y"}`)
		w.run(e)
		w.advance(time.Hour, e)
		var status, lastErr string
		db.QueryRow(w.ctx, `SELECT status, last_error FROM notifications WHERE alert_id = ?`, id2).Scan(&status, &lastErr)
		if status != "failed" || !strings.Contains(lastErr, "unknown device") {
			t.Fatalf("permanent failure: %s %q", status, lastErr)
		}
		var sent string
		db.QueryRow(w.ctx, `SELECT status FROM notifications WHERE alert_id = ?`, id).Scan(&sent)
		if sent != "sent" {
			t.Fatalf("retried message: %s", sent)
		}
	})
}

// A crash between planning and sending loses nothing: a new engine on the
// same database sends every planned message once.
func TestRestartResumesThePlan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.punch("ann", false)
		first := w.engine("first")
		w.raise(`{"Title":"x"}`)
		w.run(first) // plans, sends the push, then "crashes"
		second := w.engine("second")
		w.advance(10*time.Minute, second)
		if got := w.sent(); got != "ann:push ann:sms ann:voice" {
			t.Fatalf("after the restart: %q", got)
		}
	})
}

// Three engines racing on one database send each message exactly once.
func TestThreeEnginesSendEachMessageOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.punch("ann", false)
		w.punch("bob", false)
		w.limits = notify.Limits{} // this test is about claims, not about limits
		engines := []*engine.Engine{w.engine("a"), w.engine("b"), w.engine("c")}
		for i := range 10 {
			w.raise(fmt.Sprintf(`{"Title":"race %d"}`, i))
		}
		for step := 0; step < 4; step++ {
			var wg sync.WaitGroup
			for _, e := range engines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 3 {
						if err := e.RunOnce(w.ctx); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			w.clock.Advance(2 * time.Minute)
		}
		ids := map[string]int{}
		total := 0
		for _, r := range w.rec {
			for _, m := range r.Sent() {
				ids[m.NotificationID]++
				total += max(1, len(m.Bundle)) // SMS and calls to one number are bundled
			}
		}
		for id, n := range ids {
			if n != 1 {
				t.Fatalf("notification %s sent %d times", id, n)
			}
		}
		var planned, sent int
		db.QueryRow(w.ctx, `SELECT COUNT(*), SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) FROM notifications`).Scan(&planned, &sent)
		if total != planned || sent != planned || planned != 10*2*3 {
			t.Fatalf("delivered %d, sent %d, planned %d, want %d", total, sent, planned, 10*2*3)
		}
	})
}

// BenchmarkBurst plans and sends the first notifications of 10,000 open
// alerts at once (one per alert, to the member on duty) and reports how
// long the whole burst took.
func BenchmarkBurst(b *testing.B) {
	for _, d := range storetest.Dialects(b) {
		b.Run(string(d), func(b *testing.B) {
			t := &testing.T{}
			for b.Loop() {
				b.StopTimer()
				w := newWorld(t, storetest.Open(b, d))
				w.t = t
				w.pushOnly()
				w.punch("ann", false)
				w.limits = notify.Limits{} // capacity, not the per-address limits
				for i := range 10000 {
					w.raise(fmt.Sprintf(`{"Title":"burst %d"}`, i))
				}
				e := w.engine("bench")
				b.StartTimer()
				start := time.Now()
				for len(w.rec["push"].Sent()) < 10000 {
					if err := e.RunOnce(w.ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/10k-alerts")
			}
		})
	}
}

// multi_ack with three on duty needs three acknowledgements; each stops the
// messages to the member who gave it.
func TestMultiAckNeedsEveryone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		for _, n := range []string{"ann", "bob", "cid"} {
			w.punch(n, false)
		}
		e := w.engine("e1")
		id := w.raise(`{"Title":"x","X-S4-AlertingScenario":"multi_ack"}`)
		w.run(e)
		ack := func(name string) (alert.Alert, error) {
			return w.alerts.Transition(w.ctx, id, "acknowledge", alert.UserActor(team.User{ID: w.users[name], Email: name + "@example.com"}), "", func(string) bool { return true })
		}
		a, err := ack("ann")
		if err != nil || a.Status != alert.StatusNew || a.AcksReceived != 1 || a.AcksRequired != 3 {
			t.Fatalf("first ack: %+v %v", a, err)
		}
		if _, err := ack("ann"); err == nil {
			t.Fatal("ann acknowledged twice")
		}
		w.advance(2*time.Minute, e)
		if got := w.sent(); got != "ann:push bob:push bob:sms cid:push cid:sms" {
			t.Fatalf("after ann's ack: %q", got)
		}
		if a, _ = ack("bob"); a.Status != alert.StatusNew || a.AcksReceived != 2 {
			t.Fatalf("second ack: %+v", a)
		}
		if a, _ = ack("cid"); a.Status != alert.StatusAcknowledged || a.AcksReceived != 3 {
			t.Fatalf("third ack: %+v", a)
		}
		w.advance(10*time.Minute, e)
		if got := w.sent(); got != "ann:push bob:push bob:sms cid:push cid:sms" {
			t.Fatalf("after every ack: %q", got)
		}
	})
}

func TestEscalateNowAndAckTimeout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.pushOnly()
		if _, err := w.teams.SetAlertSettings(w.ctx, w.team.ID, team.AlertSettings{TargetResponseSeconds: 3600, AckTimeoutSeconds: 600}); err != nil {
			t.Fatal(err)
		}
		w.shift("ann", 1)
		w.shift("bob", 2)
		e := w.engine("e1")
		all := func(string) bool { return true }
		bob := alert.UserActor(team.User{ID: w.users["bob"], Email: "bob@example.com"})
		id := w.raise(`{"Title":"x"}`)
		w.run(e)
		if _, err := w.alerts.EscalateNow(w.ctx, id, bob, all); err != nil {
			t.Fatal(err)
		}
		w.run(e)
		if got := w.sent(); got != "ann:push bob:push" {
			t.Fatalf("after escalate now: %q", got)
		}
		if _, err := w.alerts.Transition(w.ctx, id, "acknowledge", bob, "", all); err != nil {
			t.Fatal(err)
		}
		if _, err := w.alerts.EscalateNow(w.ctx, id, bob, all); err == nil {
			t.Fatal("escalated an acknowledged alert")
		}
		w.advance(9*time.Minute, e)
		if got := w.sent(); got != "ann:push bob:push" {
			t.Fatalf("before the ack timeout: %q", got)
		}
		w.advance(time.Minute, e)
		if got := w.sent(); got != "ann:push bob:push bob:push" {
			t.Fatalf("at the ack timeout: %q", got)
		}
		w.advance(10*time.Minute, e)
		if got := w.sent(); got != "ann:push bob:push bob:push bob:push" {
			t.Fatalf("one ack timeout later: %q", got)
		}
		if _, err := w.alerts.Transition(w.ctx, id, "close", bob, "", all); err != nil {
			t.Fatal(err)
		}
		w.advance(time.Hour, e)
		if got := w.sent(); got != "ann:push bob:push bob:push bob:push" {
			t.Fatalf("after closing: %q", got)
		}
	})
}

// A member who punches in while an alert is unacknowledged is notified too.
func TestPunchInDuringAnOpenAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.pushOnly()
		w.punch("ann", false)
		e := w.engine("e1")
		w.raise(`{"Title":"x"}`)
		w.run(e)
		w.clock.Advance(time.Minute)
		w.punch("bob", false)
		w.run(e)
		w.run(e) // a second pass must not notify bob again
		if got := w.sent(); got != "ann:push bob:push" {
			t.Fatalf("after bob punched in: %q", got)
		}
	})
}

// An engine that acts on a punch-in late does not page a member who was
// notified already.
func TestLatePunchEventsDoNotPageTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.pushOnly()
		w.punch("ann", false)
		w.clock.Advance(time.Hour)
		w.raise(`{"Title":"x"}`)
		e := w.engine("e1")
		w.run(e)
		// Replay the punch-in later, as an engine behind on duty_events would.
		if _, err := db.Exec(w.ctx, `UPDATE engine_cursors SET value = 0 WHERE name = 'duty_events'`); err != nil {
			t.Fatal(err)
		}
		w.advance(time.Minute, e)
		if got := w.sent(); got != "ann:push" {
			t.Fatalf("sent %q", got)
		}
	})
}

// A permanent failure moves on to the member's next rule at once.
func TestPermanentFailureMovesOnToTheNextRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.punch("ann", false)
		e := w.engine("e1")
		w.rec["push"].FailWith(notify.Permanent(fmt.Errorf("device unregistered")))
		w.raise(`{"Title":"x"}`)
		w.run(e) // push fails; the SMS planned for minute 2 is brought forward
		w.run(e)
		if got := w.sent(); got != "ann:sms" {
			t.Fatalf("after the push failed: %q", got)
		}
		w.advance(5*time.Minute, e)
		if got := w.sent(); got != "ann:sms ann:voice" {
			t.Fatalf("later: %q", got)
		}
	})
}

// Planned duty records its start and end, and a member whose shift starts
// while an alert at their tier is unacknowledged is notified.
func TestPlannedDutyStartsAndEnds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.pushOnly()
		e := w.engine("e1")
		w.run(e) // the engine first sees the team now
		now := w.clock.Now()
		if _, err := w.duty.AddShifts(w.ctx, w.team.ID, []duty.PlannedShift{
			{UserID: w.users["ann"], Tier: 1, Start: now, End: now.Add(time.Hour)},
			{UserID: w.users["bob"], Tier: 1, Start: now.Add(10 * time.Minute), End: now.Add(2 * time.Hour)},
			{UserID: w.users["cid"], Tier: 2, Start: now.Add(10 * time.Minute), End: now.Add(2 * time.Hour)},
		}, false); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Second)
		w.raise(`{"Title":"x"}`)
		w.run(e)
		if got := w.sent(); got != "ann:push" {
			t.Fatalf("at first: %q", got)
		}
		w.advance(10*time.Minute, e) // bob's and cid's shifts start
		if got := w.sent(); got != "ann:push bob:push" {
			t.Fatalf("after bob's shift started: %q", got)
		}
		w.advance(time.Hour, e) // ann's shift ends
		var kinds []string
		rows, err := db.Query(w.ctx, `SELECT kind, user_id, tier FROM duty_events WHERE team_id = ? ORDER BY id`, w.team.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k, u string
			var tier int
			rows.Scan(&k, &u, &tier)
			kinds = append(kinds, fmt.Sprintf("%s:%s:%d", k, w.names[u], tier))
		}
		sort.Strings(kinds)
		want := "duty_ended:ann:1 duty_started:ann:1 duty_started:bob:1 duty_started:cid:2"
		if got := strings.Join(kinds, " "); got != want {
			t.Fatalf("duty events\n got %s\nwant %s", got, want)
		}
	})
}
