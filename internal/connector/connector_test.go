package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fake is a source whose items tests set, recording what the connector
// asked and wrote.
type fake struct {
	mu      sync.Mutex
	items   []connector.Item
	since   []time.Time
	applied []string // "externalID kind by email text"
	logged  []string
	failErr error
	pollErr error
	groups  []string
}

func (f *fake) Changes(ctx context.Context, since time.Time) ([]connector.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since = append(f.since, since)
	if f.pollErr != nil {
		return nil, f.pollErr
	}
	var out []connector.Item
	for _, it := range f.items {
		if !it.Modified.Before(since) {
			out = append(out, it)
		}
	}
	return out, nil
}

func (f *fake) Enrich(ctx context.Context, it *connector.Item) error {
	it.Params = append(it.Params, ingest.Param{Name: "Linked alerts", Value: "1"})
	return nil
}

func (f *fake) Apply(ctx context.Context, id string, c connector.Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failErr != nil {
		return f.failErr
	}
	f.applied = append(f.applied, strings.TrimSpace(fmt.Sprintf("%s %s %s %s %s", id, c.Kind, c.By, c.Email, c.Text)))
	return nil
}

func (f *fake) Log(ctx context.Context, id string, c connector.Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logged = append(f.logged, id+" "+c.Kind)
	return nil
}

func (f *fake) ApplyGroup(ctx context.Context, group string, c connector.Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, group+" "+c.Kind)
	return nil
}

func (f *fake) Check(ctx context.Context) []connector.Check {
	return []connector.Check{{Name: "token", OK: true}}
}

func (f *fake) set(items ...connector.Item) {
	f.mu.Lock()
	f.items = items
	f.mu.Unlock()
}

func (f *fake) got() (applied, logged []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.applied...), append([]string(nil), f.logged...)
}

type world struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	clock  *clock.Fake
	alerts *alert.Service
	teams  *team.Service
	svc    *connector.Service
	run    *connector.Runner
	src    *fake
	team   team.Team
	conn   connector.Connector
	ann    team.User
}

func newWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)
	batch := store.NewBatcher(db, store.BatcherOptions{Logger: log})
	t.Cleanup(batch.Close)
	ts := team.NewService(db, c)
	box, _ := seal.New(make([]byte, seal.KeySize))
	w := &world{t: t, ctx: ctx, db: db, clock: c, teams: ts, alerts: alert.NewService(db, batch, c, ts), src: &fake{}}
	if err := w.alerts.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	kind := connector.Kind{Name: "fake", Sources: []string{"incidents"}, Secrets: []string{"secret"},
		Build: func(mode string, raw json.RawMessage) (connector.Source, error) {
			var s struct {
				Secret string `json:"secret"`
			}
			if err := json.Unmarshal(raw, &s); err != nil || s.Secret == "" {
				return nil, errors.New("secret is missing")
			}
			return w.src, nil
		}}
	w.svc = connector.NewService(db, box, c, kind)
	w.run = connector.NewRunner(w.svc, w.alerts, ts, log, connector.RunnerOptions{InstanceID: "r1"})
	var err error
	if w.team, _, err = ts.CreateTeam(ctx, "SOC", ""); err != nil {
		t.Fatal(err)
	}
	if w.ann, err = ts.CreateUser(ctx, team.NewUser{Email: "ann@example.com", Name: "Ann"}); err != nil {
		t.Fatal(err)
	}
	ts.AddMember(ctx, w.team.ID, w.ann.ID, team.RoleResponder)
	if w.conn, err = w.svc.Create(ctx, w.team.ID, connector.NewConnector{Name: "Sentinel", Kind: "fake", Source: "incidents",
		Settings: json.RawMessage(`{"secret":"s3cret"}`)}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) runOnce() {
	w.t.Helper()
	if err := w.run.RunOnce(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

// poll advances past the poll interval and runs.
func (w *world) poll() {
	w.t.Helper()
	w.clock.Advance(31 * time.Second)
	w.runOnce()
}

func (w *world) alertFor(externalID string) alert.Alert {
	w.t.Helper()
	var id string
	if err := w.db.QueryRow(w.ctx, `SELECT alert_id FROM connector_items WHERE connector_id = ? AND external_id = ?`, w.conn.ID, externalID).Scan(&id); err != nil {
		w.t.Fatalf("no alert for %s: %v", externalID, err)
	}
	a, err := w.alerts.Get(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *world) item(id, status string, modified time.Time) connector.Item {
	return connector.Item{ExternalID: id, Title: "Incident " + id, Text: "Suspicious sign-in", Severity: "high", Status: status,
		Open: status == "new", Modified: modified, Params: []ingest.Param{{Name: "Incident number", Value: id}}}
}

func TestNewIncidentOpensAnAlertAndIsLabelled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		start := w.clock.Now()
		w.src.set(w.item("inc-1", "new", start.Add(-time.Hour)), w.item("inc-old", "new", start.Add(-25*time.Hour)),
			w.item("inc-active", "active", start.Add(-time.Minute)))
		w.runOnce()
		if got := w.src.since[0]; !got.Equal(start.Add(-24 * time.Hour)) {
			t.Fatalf("first poll read since %s, want 24 hours back", got)
		}
		a := w.alertFor("inc-1")
		if a.Title != "Incident inc-1" || a.ExternalID != "inc-1" || a.Status != alert.StatusNew {
			t.Fatalf("alert %+v", a)
		}
		var n int
		db.QueryRow(w.ctx, `SELECT COUNT(*) FROM connector_items`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d linked items, want only the new one within 24 hours (not the active one)", n)
		}
		applied, logged := w.src.got()
		if len(applied) != 1 || applied[0] != "inc-1 created Sentinel" {
			t.Fatalf("applied %q, want the label write-back", applied)
		}
		if len(logged) == 0 || logged[0] != "inc-1 created" {
			t.Fatalf("logged %q", logged)
		}
		c, _ := w.svc.Get(w.ctx, w.team.ID, w.conn.ID)
		if c.Health.Created != 1 || c.Health.Read != 2 || c.Health.LastSuccessAt == nil || c.Health.Watermark == nil || !c.Health.Watermark.Equal(start.Add(-time.Minute)) {
			t.Fatalf("health %+v", c.Health)
		}
		if strings.Contains(string(c.Settings), "s3cret") {
			t.Fatalf("settings show the secret: %s", c.Settings)
		}
	})
}

func TestResponderActionsAreWrittenBackInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.src.set(w.item("inc-1", "new", w.clock.Now()))
		w.src.failErr = errors.New("Sentinel is down")
		w.runOnce() // the label fails and waits
		a := w.alertFor("inc-1")
		ann := alert.UserActor(w.ann)
		all := func(string) bool { return true }
		if _, err := w.alerts.Transition(w.ctx, a.ID, "acknowledge", ann, "", all); err != nil {
			t.Fatal(err)
		}
		if _, err := w.alerts.Annotate(w.ctx, a.ID, ann, "looking into it", all); err != nil {
			t.Fatal(err)
		}
		if _, err := w.alerts.Transition(w.ctx, a.ID, "close", ann, "false alarm", all); err != nil {
			t.Fatal(err)
		}
		w.runOnce()
		if applied, _ := w.src.got(); len(applied) != 0 {
			t.Fatalf("applied %q while the label still fails", applied)
		}
		c, _ := w.svc.Get(w.ctx, w.team.ID, w.conn.ID)
		if c.Health.LastWriteError != "Sentinel is down" || c.Health.PendingWrites < 4 {
			t.Fatalf("health %+v", c.Health)
		}
		w.src.failErr = nil
		w.clock.Advance(time.Minute)
		w.runOnce()
		w.runOnce()
		applied, _ := w.src.got()
		want := []string{"inc-1 created Sentinel", "inc-1 acknowledged Ann ann@example.com", "inc-1 annotated Ann ann@example.com looking into it", "inc-1 closed Ann ann@example.com false alarm"}
		if strings.Join(applied, "|") != strings.Join(want, "|") {
			t.Fatalf("applied\n%q\nwant\n%q", applied, want)
		}
	})
}

func TestChangesAtTheSourceAreFollowedNotEchoed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		t0 := w.clock.Now()
		w.src.set(w.item("inc-1", "new", t0))
		w.runOnce()
		owned := w.item("inc-1", "active", t0.Add(time.Minute))
		owned.Owner = "bob@contoso.com"
		w.src.set(owned)
		w.poll()
		if a := w.alertFor("inc-1"); a.Status != alert.StatusAcknowledged {
			t.Fatalf("after the owner took it in Sentinel: %s", a.Status)
		}
		closed := owned
		closed.Status, closed.Modified = "closed", t0.Add(2*time.Minute)
		w.src.set(closed)
		w.poll()
		if a := w.alertFor("inc-1"); a.Status != alert.StatusClosed {
			t.Fatalf("after closing in Sentinel: %s", a.Status)
		}
		reopened := closed
		reopened.Status, reopened.Modified = "active", t0.Add(3*time.Minute)
		w.src.set(reopened)
		w.poll()
		if a := w.alertFor("inc-1"); a.Status == alert.StatusClosed {
			t.Fatal("not reopened after reopening in Sentinel")
		}
		w.runOnce()
		applied, logged := w.src.got()
		if len(applied) != 1 || applied[0] != "inc-1 created Sentinel" {
			t.Fatalf("changes from Sentinel were written back to it: %q", applied)
		}
		if !strings.Contains(strings.Join(logged, " "), "inc-1 closed") {
			t.Fatalf("the close was not logged: %q", logged)
		}
	})
}

func TestRedirectedIncidentIsFollowed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		t0 := w.clock.Now()
		w.src.set(w.item("inc-1", "new", t0))
		w.runOnce()
		a := w.alertFor("inc-1")
		merged := w.item("inc-1", "redirected", t0.Add(time.Minute))
		merged.RedirectTo = "inc-9"
		w.src.set(merged)
		w.poll()
		closed := w.item("inc-9", "closed", t0.Add(2*time.Minute))
		w.src.set(closed)
		w.poll()
		if b := w.alertFor("inc-9"); b.ID != a.ID || b.Status != alert.StatusClosed {
			t.Fatalf("the survivor's close did not reach the alert: %+v", b)
		}
	})
}

func TestPollFailureKeepsTheWatermark(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		t0 := w.clock.Now()
		w.src.set(w.item("inc-1", "new", t0.Add(-time.Minute)))
		w.runOnce()
		w.src.pollErr = errors.New("Sentinel refused: the app lacks the 'Microsoft Sentinel Reader' role")
		w.poll()
		c, _ := w.svc.Get(w.ctx, w.team.ID, w.conn.ID)
		if !strings.Contains(c.Health.LastError, "Microsoft Sentinel Reader") || !c.Health.Watermark.Equal(t0.Add(-time.Minute)) {
			t.Fatalf("health %+v", c.Health)
		}
		w.src.pollErr = nil
		w.poll()
		if got := w.src.since[len(w.src.since)-1]; !got.Equal(t0.Add(-time.Minute)) {
			t.Fatalf("after the outage read since %s, want the watermark", got)
		}
		c, _ = w.svc.Get(w.ctx, w.team.ID, w.conn.ID)
		if c.Health.LastError != "" {
			t.Fatalf("error not cleared: %+v", c.Health)
		}
	})
}

func TestOneInstancePollsAConnector(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.src.set(w.item("inc-1", "new", w.clock.Now()))
		other := connector.NewRunner(w.svc, w.alerts, w.teams, slog.New(slog.DiscardHandler), connector.RunnerOptions{InstanceID: "r2"})
		var wg sync.WaitGroup
		for _, r := range []*connector.Runner{w.run, other, w.run, other} {
			wg.Go(func() {
				if err := r.RunOnce(w.ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := len(w.src.since); n != 1 {
			t.Fatalf("polled %d times at once, want 1", n)
		}
	})
}

func TestSettingsAreCheckedAndSecretsKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		if _, err := w.svc.Create(w.ctx, w.team.ID, connector.NewConnector{Name: "B", Kind: "fake", Source: "incidents", Settings: json.RawMessage(`{}`)}); err == nil {
			t.Fatal("settings without the secret were accepted")
		}
		if _, err := w.svc.Create(w.ctx, w.team.ID, connector.NewConnector{Name: "B", Kind: "fake", Source: "alerts", Settings: json.RawMessage(`{"secret":"x"}`)}); err == nil {
			t.Fatal("an unknown source was accepted")
		}
		c, err := w.svc.Update(w.ctx, w.team.ID, w.conn.ID, connector.Patch{Settings: json.RawMessage(`{"secret":"********"}`)})
		if err != nil {
			t.Fatalf("saving the masked secret back: %v", err)
		}
		var sealed string
		db.QueryRow(w.ctx, `SELECT settings FROM connectors WHERE id = ?`, c.ID).Scan(&sealed)
		if strings.Contains(sealed, "s3cret") {
			t.Fatal("the secret is stored in the clear")
		}
		if _, err := w.svc.Get(w.ctx, "other-team", c.ID); err == nil {
			t.Fatal("another team's connector was found")
		}
	})
}

func TestHealthIsExposedAsMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		w.src.set(w.item("inc-1", "new", w.clock.Now()))
		w.runOnce()
		reg := prometheus.NewRegistry()
		reg.MustRegister(connector.NewCollector(w.svc))
		n, err := testutil.GatherAndCount(reg, "lastmile_connector_alerts_created_total", "lastmile_connector_up")
		if err != nil || n != 2 {
			t.Fatalf("%d series, %v", n, err)
		}
		want := fmt.Sprintf("# HELP lastmile_connector_alerts_created_total Alerts the connector opened.\n# TYPE lastmile_connector_alerts_created_total counter\n"+
			"lastmile_connector_alerts_created_total{connector=\"Sentinel\",connector_id=%q,source=\"incidents\",team_id=%q} 1\n", w.conn.ID, w.team.ID)
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "lastmile_connector_alerts_created_total"); err != nil {
			t.Fatal(err)
		}
	})
}

// Alerts of one incident: the incident is told once all of them are
// acknowledged, and once all are closed.
func TestGroupIsToldWhenAllItsAlertsCaughtUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		a1, a2 := w.item("al-1", "new", w.clock.Now()), w.item("al-2", "new", w.clock.Now())
		a1.Group, a2.Group = "inc-9", "inc-9"
		w.src.set(a1, a2)
		w.runOnce()
		ann, all := alert.UserActor(w.ann), func(string) bool { return true }
		groups := func() string {
			w.src.mu.Lock()
			defer w.src.mu.Unlock()
			return strings.Join(w.src.groups, ",")
		}
		w.alerts.Transition(w.ctx, w.alertFor("al-1").ID, "acknowledge", ann, "", all)
		w.runOnce()
		if g := groups(); g != "" {
			t.Fatalf("the incident was told with one alert still new: %q", g)
		}
		w.alerts.Transition(w.ctx, w.alertFor("al-2").ID, "acknowledge", ann, "", all)
		w.runOnce()
		if g := groups(); g != "inc-9 acknowledged" {
			t.Fatalf("after both acknowledged: %q", g)
		}
		w.alerts.Transition(w.ctx, w.alertFor("al-1").ID, "close", ann, "", all)
		w.alerts.Transition(w.ctx, w.alertFor("al-2").ID, "close", ann, "", all)
		w.runOnce()
		if g := groups(); g != "inc-9 acknowledged,inc-9 closed" {
			t.Fatalf("after both closed: %q", g)
		}
	})
}
