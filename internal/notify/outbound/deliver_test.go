package outbound_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

// A retried event carries the same id, and waits 10 s, 20 s, 40 s, … .
func TestRetryKeepsEventIDAndBacksOff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, secret := w.hook(w.ops.ID)
		w.raise(`{"title": "Disk full"}`)
		w.rcv.answerNext(answer{status: 500, body: "database down"}, answer{status: 429}, answer{status: 408})

		for i, wait := range []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second} {
			w.run()
			w.rcv.only(t, i)
			d := w.deliveries(h)[0]
			if d.Status != "pending" || d.Attempts != i+1 || d.NextAt == nil || !d.NextAt.Equal(w.clock.Now().Add(wait)) {
				t.Fatalf("after failure %d: %+v, want next attempt in %s", i+1, d, wait)
			}
			got, _ := w.svc.Get(w.ctx, w.ops.ID, h.ID)
			if got.LastStatus != "retrying" || got.LastError != d.LastError {
				t.Errorf("webhook after failure %d: %+v", i+1, got)
			}
			// Not before it is due.
			w.clock.Advance(wait - time.Microsecond)
			w.run()
			w.rcv.only(t, i)
			w.clock.Advance(time.Microsecond)
		}
		if d := w.deliveries(h)[0]; !strings.Contains(d.LastError, "408") {
			t.Errorf("last error %q", d.LastError)
		}
		w.run()
		w.rcv.only(t, 3)
		all := w.rcv.got()
		for _, r := range all {
			checkSigned(t, r, secret, w.clock.Now())
			if r.header.Get(outbound.HeaderEventID) != all[0].header.Get(outbound.HeaderEventID) {
				t.Errorf("event id changed between attempts: %q, %q", all[0].header.Get(outbound.HeaderEventID), r.header.Get(outbound.HeaderEventID))
			}
		}
		d := w.deliveries(h)[0]
		if d.Status != "sent" || d.Attempts != 4 || d.LastError != "" || d.EventID != all[0].header.Get(outbound.HeaderEventID) {
			t.Errorf("after success: %+v", d)
		}
		got, _ := w.svc.Get(w.ctx, w.ops.ID, h.ID)
		if got.LastStatus != "sent" || got.LastError != "" {
			t.Errorf("webhook after success: %+v", got)
		}
	})
}

func TestRetryAfterIsHonoured(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		w.raise(`{"title": "Disk full"}`)
		w.rcv.answerNext(answer{status: 503, header: map[string]string{"Retry-After": "120"}})
		w.run()
		if d := w.deliveries(h)[0]; d.NextAt == nil || !d.NextAt.Equal(start.Add(2*time.Minute)) {
			t.Errorf("next attempt %v, want in 2 minutes", d.NextAt)
		}
	})
}

func TestGivesUpAfterTenAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		w.raise(`{"title": "Disk full"}`)
		if _, err := db.Exec(w.ctx, `UPDATE webhook_deliveries SET attempts = 9`); err != nil {
			t.Fatal(err)
		}
		w.rcv.answerNext(answer{status: 502})
		w.run()
		d := w.deliveries(h)[0]
		if d.Status != "failed" || d.Attempts != 10 || !strings.Contains(d.LastError, "gave up after 10 attempts: the receiver answered 502 Bad Gateway") {
			t.Errorf("after the tenth failure: %+v", d)
		}
		got, _ := w.svc.Get(w.ctx, w.ops.ID, h.ID)
		if got.LastStatus != "failed" {
			t.Errorf("webhook: %+v", got)
		}
	})
}

func TestPermanentAnswerFailsAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		w.raise(`{"title": "Disk full"}`)
		w.rcv.answerNext(answer{status: 400, body: `{"error": "unknown field eventType"}`})
		w.run()
		d := w.deliveries(h)[0]
		want := `the receiver answered 400 Bad Request: "{\"error\": \"unknown field eventType\"}"`
		if d.Status != "failed" || d.Attempts != 1 || d.LastError != want {
			t.Errorf("after 400: %+v\nwant error %s", d, want)
		}
		w.clock.Advance(2 * time.Hour)
		w.run()
		w.rcv.only(t, 0)
	})
}

// With private targets not allowed, the client refuses the loopback
// receiver when it connects, and the delivery fails saying why.
func TestBlockedAddressFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID) // saved while private targets were allowed
		dlv := outbound.NewDeliverer(db, w.box, w.clock, notify.GuardedClient(false, 5*time.Second), slog.New(slog.DiscardHandler), outbound.DelivererOptions{})
		w.raise(`{"title": "Disk full"}`)
		if err := dlv.RunOnce(w.ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(w.rcv.got()); n != 0 {
			t.Fatalf("receiver got %d requests", n)
		}
		d := w.deliveries(h)[0]
		if d.Status != "failed" || !strings.Contains(d.LastError, "private, loopback or link-local") || !strings.Contains(d.LastError, "--allow-private-webhooks") {
			t.Errorf("delivery: %+v", d)
		}
		got, _ := w.svc.Get(w.ctx, w.ops.ID, h.ID)
		if got.LastStatus != "failed" || got.LastError != d.LastError {
			t.Errorf("webhook: %+v", got)
		}
	})
}

// Network errors are retried and do not show the URL, which may hold a
// receiver's token.
func TestUnreachableIsRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		w.rcv.srv.Close()
		w.raise(`{"title": "Disk full"}`)
		w.run()
		d := w.deliveries(h)[0]
		if d.Status != "pending" || !strings.HasPrefix(d.LastError, "could not reach the receiver") || strings.Contains(d.LastError, "token=abc") {
			t.Errorf("delivery: %+v", d)
		}
	})
}

// Events a webhook does not subscribe to are dropped without a post.
func TestEventFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID, outbound.EventCreated)
		a := w.raise(`{"title": "Disk full"}`)
		w.act(a, "acknowledge", w.ann)
		if len(w.deliveries(h)) != 2 {
			t.Fatal("the triggers queue every event type")
		}
		w.run()
		if r := w.rcv.only(t, 0); r.eventType() != 200 {
			t.Errorf("got event %d", r.eventType())
		}
		ds := w.deliveries(h)
		if len(ds) != 1 || ds[0].EventType != 200 || ds[0].Status != "sent" {
			t.Errorf("deliveries: %+v", ds)
		}
	})
}

// A webhook turned off gets nothing: not new events, and not those
// queued before.
func TestDisabledWebhookGetsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		w.raise(`{"title": "queued before"}`)
		off := false
		if _, err := w.svc.Update(w.ctx, w.ops.ID, h.ID, &off, nil); err != nil {
			t.Fatal(err)
		}
		w.raise(`{"title": "raised after"}`)
		w.run()
		if n := len(w.rcv.got()); n != 0 {
			t.Fatalf("receiver got %d requests", n)
		}
		ds := w.deliveries(h)
		if len(ds) != 1 || ds[0].Status != "failed" || ds[0].Attempts != 0 || ds[0].LastError != "not sent: the webhook is turned off" {
			t.Errorf("deliveries: %+v", ds)
		}
	})
}

func TestOtherTeamsWebhookGetsNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		other, _ := w.hook(w.dev.ID)
		a := w.raise(`{"title": "Disk full"}`)
		w.act(a, "acknowledge", w.ann)
		if _, err := w.duty.PunchIn(w.ctx, w.ops.ID, w.ann.ID, false); err != nil {
			t.Fatal(err)
		}
		w.run()
		if n := len(w.rcv.got()); n != 0 || len(w.deliveries(other)) != 0 {
			t.Fatalf("other team's webhook got %d requests", n)
		}
	})
}

// After a rotation, deliveries verify with the new secret only.
func TestRotatedSecretSigns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, old := w.hook(w.ops.ID)
		w.raise(`{"title": "Disk full"}`)
		fresh, err := w.svc.RotateSecret(w.ctx, w.ops.ID, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		w.run()
		r := w.rcv.only(t, 0)
		sig := r.header.Get(outbound.HeaderSignature)
		if err := outbound.Verify([]byte(fresh), sig, r.body, w.clock.Now(), time.Minute); err != nil {
			t.Errorf("new secret: %v", err)
		}
		if err := outbound.Verify([]byte(old), sig, r.body, w.clock.Now(), time.Minute); err == nil {
			t.Error("old secret still verifies")
		}
	})
}

// Events of one alert reach a webhook in order: while an earlier one waits
// for a retry, later ones wait behind it; other alerts' events go on.
func TestOrderWithinAlert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		a := w.raise(`{"title": "A"}`)
		w.act(a, "acknowledge", w.ann)
		w.clock.Advance(time.Second)
		b := w.raise(`{"title": "B"}`)
		failed := false
		w.rcv.answerIf(func(r received) (answer, bool) {
			if !failed && strings.Contains(string(r.body), a) {
				failed = true
				return answer{status: 500}, true
			}
			return answer{}, false
		})

		w.run() // A created fails; A acknowledged waits; B created goes.
		var first []string
		for _, r := range w.rcv.got() {
			first = append(first, fmt.Sprint(r.eventType(), strings.Contains(string(r.body), b)))
		}
		slices.Sort(first)
		if want := []string{"200 false", "200 true"}; !slices.Equal(first, want) {
			t.Fatalf("first round sent %v (event type, is B), want %v", first, want)
		}
		for _, d := range w.deliveries(h) {
			if d.EventType == 201 && (d.Status != "pending" || d.Attempts != 0 || !d.NextAt.Equal(w.clock.Now().Add(10*time.Second))) {
				t.Errorf("the acknowledgement should wait for the retry: %+v", d)
			}
		}

		// A new event of A, due at once, still waits behind the retry.
		if _, err := w.alerts.Annotate(w.ctx, a, alert.UserActor(w.bob), "later", allowAll); err != nil {
			t.Fatal(err)
		}
		w.run()
		w.rcv.only(t, 1)

		w.clock.Advance(10 * time.Second)
		w.run()
		var types []int
		for _, r := range w.rcv.got()[2:] {
			if !strings.Contains(string(r.body), a) {
				t.Errorf("unexpected event %s", r.body)
			}
			types = append(types, r.eventType())
		}
		if !slices.Equal(types, []int{200, 201, 203}) {
			t.Errorf("A's events arrived as %v, want [200 201 203]", types)
		}
	})
}

// An event another instance is sending holds back the later events of its
// alert; they are retried a little later.
func TestWaitsForOtherInstance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		a := w.raise(`{"title": "A"}`)
		w.act(a, "acknowledge", w.ann)
		if _, err := db.Exec(w.ctx, `UPDATE webhook_deliveries SET status = 'sending', claimed_by = 'other', claimed_at = ?, attempts = 1 WHERE event_type = 200`,
			store.Micros(w.clock.Now())); err != nil {
			t.Fatal(err)
		}
		w.run()
		if n := len(w.rcv.got()); n != 0 {
			t.Fatalf("sent %d while the other instance holds the earlier event", n)
		}
		for _, d := range w.deliveries(h) {
			if d.EventType == 201 && (d.Status != "pending" || !d.NextAt.Equal(w.clock.Now().Add(15*time.Second))) {
				t.Errorf("waiting delivery: %+v", d)
			}
		}
		// The other instance died: after 2 minutes its claim is taken over.
		w.clock.Advance(2*time.Minute + time.Second)
		w.run()
		var types []int
		for _, r := range w.rcv.got() {
			types = append(types, r.eventType())
		}
		if !slices.Equal(types, []int{200, 201}) {
			t.Errorf("sent %v, want [200 201]", types)
		}
	})
}

// A batch stops starting posts once its claim is old enough that another
// instance might take it over; the rest wait, unattempted.
func TestClaimBudget(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		var posts atomic.Int32
		slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			posts.Add(1)
			w.clock.Advance(100 * time.Second) // a very slow receiver
		}))
		t.Cleanup(slow.Close)
		if _, err := db.Exec(w.ctx, `UPDATE team_webhooks SET url = ?`, slow.URL); err != nil {
			t.Fatal(err)
		}
		a := w.raise(`{"title": "A"}`)
		w.act(a, "acknowledge", w.ann)
		w.run()
		if n := posts.Load(); n != 1 {
			t.Fatalf("posted %d, want 1", n)
		}
		ds := w.deliveries(h)
		if ds[0].Status != "sent" || ds[1].Status != "pending" || ds[1].Attempts != 0 {
			t.Errorf("deliveries: %+v", ds)
		}
		w.run()
		if n := posts.Load(); n != 2 {
			t.Fatalf("posted %d, want 2", n)
		}
	})
}

func TestDeletedAlertFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		a := w.raise(`{"title": "A"}`)
		if _, err := db.Exec(w.ctx, `DELETE FROM alerts WHERE id = ?`, a); err != nil {
			t.Fatal(err)
		}
		w.run()
		d := w.deliveries(h)[0]
		if d.Status != "failed" || !strings.Contains(d.LastError, "alert was deleted") || len(w.rcv.got()) != 0 {
			t.Errorf("delivery: %+v", d)
		}
	})
}

func TestPrune(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		w.raise(`{"title": "A"}`)
		w.run()
		w.clock.Advance(time.Hour)
		w.raise(`{"title": "B"}`) // pending: kept
		n, err := w.dlv.Prune(w.ctx, w.clock.Now().Add(-time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, %v", n, err)
		}
		if ds := w.deliveries(h); len(ds) != 1 || ds[0].Status != "pending" {
			t.Errorf("left %+v", ds)
		}
	})
}

// A secret that no longer opens (the server's key changed, or it was
// copied from another row) is not used, and the webhook says so.
func TestUnreadableSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		other, _ := w.hook(w.dev.ID)
		if _, err := db.Exec(w.ctx, `UPDATE team_webhooks SET secret = (SELECT secret FROM team_webhooks WHERE id = ?) WHERE id = ?`, other.ID, h.ID); err != nil {
			t.Fatal(err)
		}
		w.raise(`{"title": "A"}`)
		w.run()
		if n := len(w.rcv.got()); n != 0 {
			t.Fatalf("sent %d", n)
		}
		d := w.deliveries(h)[0]
		got, _ := w.svc.Get(w.ctx, w.ops.ID, h.ID)
		if d.Status != "failed" || !strings.Contains(d.LastError, "rotate the webhook's secret") || got.LastStatus != "failed" || got.LastError != d.LastError {
			t.Errorf("delivery %+v, webhook %+v", d, got)
		}
		// Rotating fixes it.
		if _, err := w.svc.RotateSecret(w.ctx, w.ops.ID, h.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.SendTest(w.ctx, w.ops.ID, h.ID); err != nil {
			t.Fatal(err)
		}
		w.run()
		w.rcv.only(t, 0)
	})
}
