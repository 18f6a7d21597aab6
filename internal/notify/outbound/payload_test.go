package outbound_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

// at is the time k seconds after start, as payloads write it.
func at(k int) string { return outbound.FormatTime(start.Add(time.Duration(k) * time.Second)) }

// Each event type's payload, field by field, after the events of one
// alert's life and of the team's duty.
func TestPayloads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, secret := w.hook(w.ops.ID)
		a := w.raise(`{"title": "Disk full", "message": "sda1 at 95%", "X-S4-ExternalID": "ext-1", "X-S4-Severity": "high"}`)
		var inboundEvent string
		if err := db.QueryRow(w.ctx, `SELECT event_id FROM alerts WHERE id = ?`, a).Scan(&inboundEvent); err != nil {
			t.Fatal(err)
		}
		ann := fmt.Sprintf(`{"id": %q, "username": "Ann Admin", "mailaddress": "ann@example.com"}`, w.ann.ID)
		bob := fmt.Sprintf(`{"id": %q, "username": "bob@example.com", "mailaddress": "bob@example.com"}`, w.bob.ID)
		alertJSON := func(status int, ackers, extra string) string {
			return fmt.Sprintf(`{"statusCode": %d, "eventId": %q, "externalEventId": "ext-1", "acknowledgedUserIds": [%s], "id": %q,
				"title": "Disk full", "text": "sda1 at 95%%", "severity": "high", "createdAt": %q %s}`, status, inboundEvent, ackers, a, at(0), extra)
		}
		head := func(typ, k int) string {
			return fmt.Sprintf(`"eventType": %d, "eventRaisedUtc": %q, "subscription": {"id": %q}, "team": {"id": %q}`, typ, at(k), h.ID, w.ops.ID)
		}

		steps := []struct {
			name string
			do   func()
			want func(id string) string
		}{
			{"created", func() {}, func(id string) string {
				return fmt.Sprintf(`{%s, "alert": %s, "id": %q}`, head(200, 0), alertJSON(1, "", ""), id)
			}},
			{"escalated", func() {
				if _, err := db.Exec(w.ctx, `UPDATE alert_engine SET state = 'active' WHERE alert_id = ?`, a); err != nil {
					t.Fatal(err)
				}
				if _, err := w.alerts.EscalateNow(w.ctx, a, alert.UserActor(w.ann), allowAll); err != nil {
					t.Fatal(err)
				}
			}, func(id string) string {
				return fmt.Sprintf(`{%s, "alert": %s, "id": %q}`, head(202, 1), alertJSON(1, "", ""), id)
			}},
			{"acknowledged", func() { w.act(a, "acknowledge", w.ann) }, func(id string) string {
				return fmt.Sprintf(`{%s, "user": %s, "alert": %s, "id": %q}`, head(201, 2), ann,
					alertJSON(2, fmt.Sprintf("%q", w.ann.ID), fmt.Sprintf(`, "acknowledgedAt": %q`, at(2))), id)
			}},
			{"annotated", func() {
				if _, err := w.alerts.Annotate(w.ctx, a, alert.UserActor(w.bob), "On it", allowAll); err != nil {
					t.Fatal(err)
				}
			}, func(id string) string {
				return fmt.Sprintf(`{%s, "user": %s, "alert": %s, "annotation": {"message": "On it", "id": %q}, "id": %q}`, head(203, 3), bob,
					alertJSON(2, fmt.Sprintf("%q", w.ann.ID), fmt.Sprintf(`, "acknowledgedAt": %q`, at(2))), w.timelineID(a, "annotated"), id)
			}},
			{"closed", func() { w.act(a, "close", w.bob) }, func(id string) string {
				return fmt.Sprintf(`{%s, "user": %s, "alert": %s, "id": %q}`, head(201, 4), bob,
					alertJSON(4, fmt.Sprintf("%q", w.ann.ID), fmt.Sprintf(`, "acknowledgedAt": %q, "closedAt": %q`, at(2), at(4))), id)
			}},
			{"punched in", func() {
				if _, err := w.duty.PunchIn(w.ctx, w.ops.ID, w.ann.ID, false); err != nil {
					t.Fatal(err)
				}
			}, func(id string) string {
				return fmt.Sprintf(`{%s, "user": %s, "duty": {"tier": 1, "manager": false}, "id": %q}`, head(302, 5), ann, id)
			}},
			{"duty started", func() {
				if _, err := db.Exec(w.ctx, `INSERT INTO duty_events (team_id, kind, user_id, manager, tier, at) VALUES (?, 'duty_started', ?, ?, 2, ?)`,
					w.ops.ID, w.bob.ID, false, store.Micros(w.clock.Now())); err != nil {
					t.Fatal(err)
				}
			}, func(id string) string {
				return fmt.Sprintf(`{%s, "user": %s, "duty": {"tier": 2, "manager": false}, "id": %q}`, head(300, 6), bob, id)
			}},
			{"test", func() {
				if _, err := w.svc.SendTest(w.ctx, w.ops.ID, h.ID); err != nil {
					t.Fatal(err)
				}
			}, func(id string) string {
				return fmt.Sprintf(`{%s, "note": "This is a test event from lastmile. Your endpoint received it.", "id": %q}`, head(1, 7), id)
			}},
		}
		for i, st := range steps {
			w.clock.Set(start.Add(time.Duration(i) * time.Second))
			st.do()
			w.run()
			r := w.rcv.only(t, i)
			checkSigned(t, r, secret, w.clock.Now())
			ds := w.deliveries(h)
			if len(ds) != i+1 || ds[i].Status != "sent" {
				t.Fatalf("%s: deliveries %+v", st.name, ds)
			}
			t.Run(st.name, func(t *testing.T) { sameJSON(t, r.body, st.want(ds[i].EventID)) })
		}
	})
}

// statusCode and acknowledgedUserIds follow the alert through undo,
// reopening and multi_ack, as each event left it.
func TestPayloadStatusThroughUndoAndMultiAck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID, outbound.EventStatus)
		a := w.raise(`{"title": "one"}`)
		w.act(a, "acknowledge", w.ann)
		w.act(a, "undo-acknowledge", w.ann)
		w.act(a, "close", w.bob)
		w.act(a, "undo-close", w.bob) // never acknowledged since: new

		b := w.raise(`{"title": "two"}`)
		if _, err := db.Exec(w.ctx, `UPDATE alerts SET acks_required = 2 WHERE id = ?`, b); err != nil {
			t.Fatal(err)
		}
		w.act(b, "acknowledge", w.ann) // 1 of 2: still new
		w.act(b, "acknowledge", w.bob) // 2 of 2: acknowledged
		w.act(b, "close", w.bob)
		w.act(b, "undo-close", w.bob) // back to acknowledged

		// Delivered late, after all of it happened.
		w.clock.Advance(time.Hour)
		w.run()
		type got struct {
			Alert struct {
				ID                  string
				StatusCode          int
				AcknowledgedUserIDs []string
				AcknowledgedAt      *string
				ClosedAt            *string
			}
			User struct{ ID string }
		}
		want := []struct {
			alert  string
			user   string
			code   int
			ackers []string
			acked  bool
			closed bool
		}{
			{a, w.ann.ID, 2, []string{w.ann.ID}, true, false},
			{a, w.ann.ID, 1, []string{}, false, false},
			{a, w.bob.ID, 4, []string{}, false, true},
			{a, w.bob.ID, 1, []string{}, false, false},
			{b, w.ann.ID, 1, []string{w.ann.ID}, false, false},
			{b, w.bob.ID, 2, []string{w.ann.ID, w.bob.ID}, true, false},
			{b, w.bob.ID, 4, []string{w.ann.ID, w.bob.ID}, true, true},
			{b, w.bob.ID, 2, []string{w.ann.ID, w.bob.ID}, true, false},
		}
		reqs := w.rcv.got()
		if len(reqs) != len(want) {
			t.Fatalf("got %d requests, want %d", len(reqs), len(want))
		}
		// Different alerts' events may interleave; each alert's are in order.
		next := map[string]int{a: 0, b: 4}
		for _, r := range reqs {
			var p got
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
			i := next[p.Alert.ID]
			next[p.Alert.ID]++
			wt := want[i]
			if p.User.ID != wt.user || p.Alert.StatusCode != wt.code || fmt.Sprint(p.Alert.AcknowledgedUserIDs) != fmt.Sprint(wt.ackers) ||
				(p.Alert.AcknowledgedAt != nil) != wt.acked || (p.Alert.ClosedAt != nil) != wt.closed {
				t.Errorf("event %d: %s", i, r.body)
			}
		}
		if len(w.deliveries(h)) != len(want) {
			t.Errorf("deliveries: %+v", w.deliveries(h))
		}
	})
}
