package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

// getterFake is the fake source that also reads single items, as the
// Microsoft source does for pushes.
type getterFake struct {
	*fake
	gets   atomic.Int32
	getErr error
	// hold, if set, makes Get wait for it or the context's end.
	hold   chan struct{}
	canGet error
}

func (g *getterFake) CanGet() error { return g.canGet }

func (g *getterFake) PushedID(body []byte) (string, error) {
	f := connector.PushFields(body, "object.name", "incidentId")
	for _, k := range []string{"object.name", "incidentId"} {
		if f[k] != "" {
			return f[k], nil
		}
	}
	return "", errors.New(`send {"incidentId": "…"}`)
}

func (g *getterFake) Get(ctx context.Context, id string) (connector.Item, error) {
	g.gets.Add(1)
	if g.hold != nil {
		select {
		case <-g.hold:
		case <-ctx.Done():
			return connector.Item{}, fmt.Errorf("read %s: %w", id, ctx.Err())
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.getErr != nil {
		return connector.Item{}, g.getErr
	}
	for _, it := range g.items {
		if it.ExternalID == id {
			return it, nil
		}
	}
	return connector.Item{}, fmt.Errorf("incident %s not found", id)
}

// pushWorld is a world whose source takes pushes, with a push secret made.
type pushWorld struct {
	*world
	g      *getterFake
	secret string
	wakes  atomic.Int32
	plain  *fake // the source of a second kind, which cannot read single items
}

func newPushWorld(t *testing.T, db *store.DB) *pushWorld {
	t.Helper()
	w := newWorld(t, db)
	// The world's own connector reads the same source: it goes.
	if err := w.svc.Delete(w.ctx, w.team.ID, w.conn.ID); err != nil {
		t.Fatal(err)
	}
	pw := &pushWorld{world: w, g: &getterFake{fake: w.src}, plain: &fake{}}
	log := slog.New(slog.DiscardHandler)
	box, _ := seal.New(make([]byte, seal.KeySize))
	build := func(src connector.Source) func(string, json.RawMessage) (connector.Source, error) {
		return func(string, json.RawMessage) (connector.Source, error) { return src, nil }
	}
	w.svc = connector.NewService(db, box, w.clock,
		connector.Kind{Name: "fake", Sources: []string{"incidents"}, Build: build(pw.g)},
		connector.Kind{Name: "plain", Sources: []string{"incidents"}, Build: build(pw.plain)})
	w.run = connector.NewRunner(w.svc, w.alerts, w.teams, log, connector.RunnerOptions{InstanceID: "r1", Wake: func() { pw.wakes.Add(1) }})
	var err error
	if w.conn, err = w.svc.Create(w.ctx, w.team.ID, connector.NewConnector{Name: "Pushed", Kind: "fake", Source: "incidents",
		Settings: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if pw.secret, _, err = w.svc.RotatePushSecret(w.ctx, w.team.ID, w.conn.ID); err != nil {
		t.Fatal(err)
	}
	// The first poll is done, so the next is an interval away: what a
	// push raises is the push's doing.
	w.runOnce()
	return pw
}

func (pw *pushWorld) push(body string) (connector.PushResult, error) {
	return pw.run.Push(pw.ctx, pw.secret, []byte(body))
}

// alertsFor counts the alerts with the external id, and the links to it.
func (pw *pushWorld) alertsFor(externalID string) (alerts, links int) {
	pw.t.Helper()
	if err := pw.db.QueryRow(pw.ctx, `SELECT COUNT(*) FROM alerts WHERE external_id = ?`, externalID).Scan(&alerts); err != nil {
		pw.t.Fatal(err)
	}
	if err := pw.db.QueryRow(pw.ctx, `SELECT COUNT(*) FROM connector_items WHERE external_id = ?`, externalID).Scan(&links); err != nil {
		pw.t.Fatal(err)
	}
	return alerts, links
}

func TestPushOpensTheAlertAtOnceAndThePollDoesNotRepeatIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		pw := newPushWorld(t, db)
		pw.src.set(pw.item("inc-1", "new", pw.clock.Now()))
		res, err := pw.push(`{"objectSchemaType":"Incident","object":{"name":"inc-1","properties":{"title":"not trusted"}}}`)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != connector.PushCreated || res.AlertID == "" || res.ExternalID != "inc-1" || res.ConnectorID != pw.conn.ID {
			t.Fatalf("push %+v, want created", res)
		}
		a := pw.alertFor("inc-1")
		if a.ID != res.AlertID || a.Title != "Incident inc-1" || a.Status != alert.StatusNew {
			t.Fatalf("alert %+v: want the one read from the source, not the pushed title", a)
		}
		if pw.wakes.Load() != 1 {
			t.Fatalf("the engine was woken %d times, want once", pw.wakes.Load())
		}
		pw.poll()
		pw.poll()
		if n, l := pw.alertsFor("inc-1"); n != 1 || l != 1 {
			t.Fatalf("%d alerts and %d links after push and polls, want 1 and 1", n, l)
		}
		var labels int
		db.QueryRow(pw.ctx, `SELECT COUNT(*) FROM connector_writebacks WHERE external_id = 'inc-1' AND kind = 'created'`).Scan(&labels)
		if labels != 1 {
			t.Fatalf("%d label write-backs, want 1", labels)
		}
		c, _ := pw.svc.Get(pw.ctx, pw.team.ID, pw.conn.ID)
		if c.Health.Created != 0 {
			t.Fatalf("the polls counted %d alerts created, want 0 (the push made it)", c.Health.Created)
		}
		info, err := pw.svc.PushInfo(pw.ctx, pw.team.ID, pw.conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !info.Available || !info.Enabled || info.Pushes != 1 || info.LastResult != connector.PushCreated || info.LastPushAt == nil ||
			info.SecretPrefix != pw.secret[:6] {
			t.Fatalf("push info %+v", info)
		}

		// The same push again (the Logic App retried): nothing more, and
		// Microsoft is not asked again.
		gets := pw.g.gets.Load()
		res, err = pw.push(`{"incidentId":"inc-1"}`)
		if err != nil || res.Status != connector.PushExists || res.AlertID != a.ID {
			t.Fatalf("second push %+v, %v: want exists", res, err)
		}
		if pw.g.gets.Load() != gets {
			t.Fatal("a push of a linked incident read it again")
		}
	})
}

func TestPushAfterThePollFindsItsAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		pw := newPushWorld(t, db)
		pw.src.set(pw.item("inc-1", "new", pw.clock.Now()))
		pw.poll()
		a := pw.alertFor("inc-1")
		wakes := pw.wakes.Load()
		res, err := pw.push(`{"incidentId":"inc-1"}`)
		if err != nil || res.Status != connector.PushExists || res.AlertID != a.ID {
			t.Fatalf("push %+v, %v: want exists with the polled alert", res, err)
		}
		if n, l := pw.alertsFor("inc-1"); n != 1 || l != 1 {
			t.Fatalf("%d alerts, %d links", n, l)
		}
		if pw.g.gets.Load() != 0 || pw.wakes.Load() != wakes {
			t.Fatalf("a push of a polled incident read it (%d) or woke the engine", pw.g.gets.Load())
		}
	})
}

// Push and poll racing for the same new incidents raise each once.
func TestConcurrentPushAndPollRaiseOneAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		pw := newPushWorld(t, db)
		var pushCreated atomic.Int32
		for i := range 8 {
			id := fmt.Sprintf("inc-%d", i)
			pw.src.set(pw.item(id, "new", pw.clock.Now()))
			pw.clock.Advance(31 * time.Second)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					<-start
					res, err := pw.push(`{"incidentId":"` + id + `"}`)
					if err != nil {
						t.Error(err)
					}
					if res.Status == connector.PushCreated {
						pushCreated.Add(1)
					}
				})
			}
			wg.Go(func() {
				<-start
				if err := pw.run.RunOnce(pw.ctx); err != nil {
					t.Error(err)
				}
			})
			close(start)
			wg.Wait()
			if n, l := pw.alertsFor(id); n != 1 || l != 1 {
				t.Fatalf("%s: %d alerts and %d links, want 1 and 1", id, n, l)
			}
			c, _ := pw.svc.Get(pw.ctx, pw.team.ID, pw.conn.ID)
			if got := int64(pushCreated.Load()) + c.Health.Created; got != int64(i+1) {
				t.Fatalf("%s: pushes said created %d times and polls %d in all, want %d together", id, pushCreated.Load(), c.Health.Created, i+1)
			}
		}
	})
}

// Azure failing (or slow) during the read: the push is queued, the
// connector polls at once and the poll raises the incident.
func TestPushThatCannotReadMakesTheConnectorPoll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		pw := newPushWorld(t, db)
		pw.src.set(pw.item("inc-1", "new", pw.clock.Now()))
		pw.g.getErr = errors.New("Sentinel answered 503 Service Unavailable")
		res, err := pw.push(`{"incidentId":"inc-1"}`)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != connector.PushQueued || res.AlertID != "" || !strings.Contains(res.Note, "503") {
			t.Fatalf("push %+v, want queued with the reason", res)
		}
		if n, _ := pw.alertsFor("inc-1"); n != 0 {
			t.Fatalf("%d alerts before the poll", n)
		}
		pw.g.getErr = nil
		pw.runOnce() // no time passes: only the push made the poll due
		if n, l := pw.alertsFor("inc-1"); n != 1 || l != 1 {
			t.Fatalf("after the poll %d alerts and %d links, want 1 and 1", n, l)
		}
		info, _ := pw.svc.PushInfo(pw.ctx, pw.team.ID, pw.conn.ID)
		if info.LastResult != connector.PushQueued || !strings.Contains(info.LastNote, "503") {
			t.Fatalf("push info %+v", info)
		}

		// Slow: the read is cut at the caller's deadline.
		pw.src.set(pw.item("inc-2", "new", pw.clock.Now()))
		pw.g.hold = make(chan struct{})
		ctx, cancel := context.WithTimeout(pw.ctx, 50*time.Millisecond)
		defer cancel()
		res, err = pw.run.Push(ctx, pw.secret, []byte(`{"incidentId":"inc-2"}`))
		if err != nil || res.Status != connector.PushQueued {
			t.Fatalf("slow read: %+v, %v: want queued", res, err)
		}
		close(pw.g.hold)
		pw.runOnce()
		if n, _ := pw.alertsFor("inc-2"); n != 1 {
			t.Fatalf("after a slow read and the poll: %d alerts", n)
		}
	})
}

func TestPushOfAnItemThatOpensNoAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		pw := newPushWorld(t, db)
		low := pw.item("inc-low", "new", pw.clock.Now())
		low.Open = false
		pw.src.set(low, pw.item("inc-closed", "closed", pw.clock.Now()))
		for id, why := range map[string]string{"inc-low": "filters", "inc-closed": "closed"} {
			res, err := pw.push(`{"incidentId":"` + id + `"}`)
			if err != nil || res.Status != connector.PushIgnored || !strings.Contains(res.Note, why) {
				t.Fatalf("%s: %+v, %v: want ignored because of %s", id, res, err, why)
			}
			if n, l := pw.alertsFor(id); n != 0 || l != 0 {
				t.Fatalf("%s: %d alerts, %d links", id, n, l)
			}
		}
		if pw.wakes.Load() != 0 {
			t.Fatal("the engine was woken for nothing")
		}
	})
}

func TestPushRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		pw := newPushWorld(t, db)
		pw.src.set(pw.item("inc-1", "new", pw.clock.Now()))
		kind := func(err error) apperr.Kind {
			if err == nil {
				return ""
			}
			return apperr.KindOf(err)
		}
		if _, err := pw.run.Push(pw.ctx, "not-a-secret", []byte(`{"incidentId":"inc-1"}`)); kind(err) != apperr.NotFound {
			t.Fatalf("unknown secret: %v, want not found", err)
		}
		for _, body := range []string{``, `{}`, `not json`, `{"incidentId":""}`, `[{"incidentId":"inc-1"}]`} {
			if _, err := pw.push(body); kind(err) != apperr.Invalid || !strings.Contains(err.Error(), "incidentId") {
				t.Fatalf("body %q: %v, want invalid saying what to send", body, err)
			}
		}

		// Rotating: the old secret stops, the new one works.
		newSecret, info, err := pw.svc.RotatePushSecret(pw.ctx, pw.team.ID, pw.conn.ID)
		if err != nil || newSecret == pw.secret || len(newSecret) < 32 || info.SecretPrefix != newSecret[:6] {
			t.Fatalf("rotate: %q %+v %v", newSecret, info, err)
		}
		if _, err := pw.push(`{"incidentId":"inc-1"}`); kind(err) != apperr.NotFound {
			t.Fatalf("old secret after rotation: %v", err)
		}
		pw.secret = newSecret

		off := false
		if _, err := pw.svc.Update(pw.ctx, pw.team.ID, pw.conn.ID, connector.Patch{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		if _, err := pw.push(`{"incidentId":"inc-1"}`); kind(err) != apperr.Conflict || !strings.Contains(err.Error(), "disabled") {
			t.Fatalf("disabled connector: %v, want conflict", err)
		}
		if n, _ := pw.alertsFor("inc-1"); n != 0 {
			t.Fatal("a disabled connector opened an alert")
		}
		on := true
		pw.svc.Update(pw.ctx, pw.team.ID, pw.conn.ID, connector.Patch{Enabled: &on})

		if err := pw.svc.DisablePush(pw.ctx, pw.team.ID, pw.conn.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := pw.push(`{"incidentId":"inc-1"}`); kind(err) != apperr.NotFound {
			t.Fatalf("after push was turned off: %v", err)
		}
		if info, _ := pw.svc.PushInfo(pw.ctx, pw.team.ID, pw.conn.ID); info.Enabled || !info.Available {
			t.Fatalf("push info after turning off: %+v", info)
		}
		if err := pw.svc.DisablePush(pw.ctx, "other-team", pw.conn.ID); kind(err) != apperr.NotFound {
			t.Fatalf("another team's connector: %v", err)
		}

		// A source that cannot read single items takes no push secret.
		plain, err := pw.svc.Create(pw.ctx, pw.team.ID, connector.NewConnector{Name: "Plain", Kind: "plain", Source: "incidents", Settings: json.RawMessage(`{}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := pw.svc.RotatePushSecret(pw.ctx, pw.team.ID, plain.ID); kind(err) != apperr.Conflict {
			t.Fatalf("source without Get: %v, want conflict", err)
		}
		if info, err := pw.svc.PushInfo(pw.ctx, pw.team.ID, plain.ID); err != nil || info.Available || info.Reason == "" {
			t.Fatalf("push info of a source without Get: %+v %v", info, err)
		}
		pw.g.canGet = errors.New("legacy alerts cannot be read one by one")
		if _, _, err := pw.svc.RotatePushSecret(pw.ctx, pw.team.ID, pw.conn.ID); kind(err) != apperr.Conflict || !strings.Contains(err.Error(), "legacy") {
			t.Fatalf("source that says it cannot: %v", err)
		}
	})
}

// Deleting the connector deletes its push secret.
func TestPushSecretGoesWithItsConnector(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		pw := newPushWorld(t, db)
		if err := pw.svc.Delete(pw.ctx, pw.team.ID, pw.conn.ID); err != nil {
			t.Fatal(err)
		}
		var n int
		db.QueryRow(pw.ctx, `SELECT COUNT(*) FROM connector_push`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d push secrets left", n)
		}
		if _, err := pw.push(`{"incidentId":"inc-1"}`); apperr.KindOf(err) != apperr.NotFound {
			t.Fatalf("push to a deleted connector: %v", err)
		}
	})
}

func TestPushFields(t *testing.T) {
	envelope := `{"eventUniqueId":"e1","objectSchemaType":"Incident","objectEventType":"Create",
		"workspaceInfo":{"SubscriptionId":"s1","ResourceGroupName":"rg","WorkspaceName":"ws"},"workspaceId":"w-1",
		"object":{"id":"/subscriptions/s1/x/Incidents/abc","name":"abc","properties":{"title":"T","incidentNumber":42,"isFlagged":true,"owner":{"email":null},
		"Alerts":[{"name":"alert-name","properties":{"title":"in an array"}}],"providerIncidentId":"42"}}}`
	for _, tc := range []struct {
		what  string
		body  string
		paths []string
		want  map[string]string
	}{
		{"envelope", envelope, []string{"object.name", "object.id", "workspaceInfo.workspacename", "object.properties.incidentNumber",
			"object.properties.isFlagged", "object.properties.providerIncidentId", "object.properties.owner.email"},
			map[string]string{"object.name": "abc", "object.id": "/subscriptions/s1/x/Incidents/abc", "workspaceInfo.workspacename": "ws",
				"object.properties.incidentNumber": "42", "object.properties.isFlagged": "true", "object.properties.providerIncidentId": "42"}},
		{"values in arrays are not reached", envelope, []string{"name", "object.properties.alerts.name", "title"}, map[string]string{}},
		{"keys without regard to case", `{"INCIDENTID":"x"}`, []string{"incidentId"}, map[string]string{"incidentId": "x"}},
		{"first of repeated keys", `{"id":"a","id":"b"}`, []string{"id"}, map[string]string{"id": "a"}},
		{"cut short", envelope[:strings.Index(envelope, `"properties"`)+5], []string{"object.name", "object.properties.providerIncidentId"},
			map[string]string{"object.name": "abc"}},
		{"not JSON", `incidentId=abc`, []string{"incidentId"}, map[string]string{}},
		{"top-level array", `[{"incidentId":"abc"}]`, []string{"incidentId"}, map[string]string{}},
		{"objects as values are not scalars", `{"incidentId":{"id":"abc"}}`, []string{"incidentId", "incidentId.id"}, map[string]string{"incidentId.id": "abc"}},
	} {
		got := connector.PushFields([]byte(tc.body), tc.paths...)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.what, got, tc.want)
		}
	}
}
