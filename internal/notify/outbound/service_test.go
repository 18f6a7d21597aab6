package outbound_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

func TestManageWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, secret := w.hook(w.ops.ID, 200, 201)
		if !h.Enabled || h.TeamID != w.ops.ID || !h.CreatedAt.Equal(start) || !slices.Equal(h.Events, []int{200, 201}) {
			t.Errorf("created %+v", h)
		}

		// The secret is sealed to its row: the column holds neither it nor
		// anything that opens elsewhere.
		var raw string
		if err := db.QueryRow(w.ctx, `SELECT secret FROM team_webhooks WHERE id = ?`, h.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, secret) {
			t.Fatalf("secret stored in the clear: %q", raw)
		}
		if plain, err := w.box.Open(raw, "team_webhooks/"+h.ID); err != nil || string(plain) != secret {
			t.Fatalf("sealed secret opens to %q, %v", plain, err)
		}
		if _, err := w.box.Open(raw, "team_webhooks/other"); err == nil {
			t.Fatal("sealed secret opens in another row's context")
		}

		// JSON never carries the secret.
		b, _ := json.Marshal(h)
		if strings.Contains(string(b), secret) || strings.Contains(string(b), "secret") {
			t.Errorf("webhook JSON shows the secret: %s", b)
		}
		var fields map[string]any
		json.Unmarshal(b, &fields)
		for _, f := range []string{"id", "teamId", "url", "events", "enabled", "createdAt", "lastStatus", "lastError"} {
			if _, ok := fields[f]; !ok {
				t.Errorf("webhook JSON lacks %q: %s", f, b)
			}
		}

		got, err := w.svc.Get(w.ctx, w.ops.ID, h.ID)
		if err != nil || got.URL != h.URL || !slices.Equal(got.Events, h.Events) {
			t.Fatalf("get = %+v, %v", got, err)
		}
		// Another team's admins do not see it.
		if _, err := w.svc.Get(w.ctx, w.dev.ID, h.ID); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("get from other team: %v, want not found", err)
		}
		off, all := false, []int{}
		if _, err := w.svc.Update(w.ctx, w.dev.ID, h.ID, &off, nil); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("update from other team: %v, want not found", err)
		}
		if err := w.svc.Delete(w.ctx, w.dev.ID, h.ID); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("delete from other team: %v, want not found", err)
		}
		if _, err := w.svc.RotateSecret(w.ctx, w.dev.ID, h.ID); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("rotate from other team: %v, want not found", err)
		}
		if _, err := w.svc.SendTest(w.ctx, w.dev.ID, h.ID); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("test from other team: %v, want not found", err)
		}
		if _, err := w.svc.Deliveries(w.ctx, w.dev.ID, h.ID, 10); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("deliveries from other team: %v, want not found", err)
		}

		up, err := w.svc.Update(w.ctx, w.ops.ID, h.ID, &off, &all)
		if err != nil || up.Enabled || len(up.Events) != 0 {
			t.Fatalf("update = %+v, %v", up, err)
		}
		bad := []int{7}
		if _, err := w.svc.Update(w.ctx, w.ops.ID, h.ID, nil, &bad); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("update with event 7: %v, want invalid", err)
		}

		rotated, err := w.svc.RotateSecret(w.ctx, w.ops.ID, h.ID)
		if err != nil || rotated == secret || len(rotated) != 43 {
			t.Fatalf("rotate = %q, %v", rotated, err)
		}

		list, err := w.svc.List(w.ctx, w.ops.ID)
		if err != nil || len(list) != 1 || list[0].ID != h.ID {
			t.Fatalf("list = %+v, %v", list, err)
		}
		if other, err := w.svc.List(w.ctx, w.dev.ID); err != nil || len(other) != 0 {
			t.Fatalf("list of other team = %+v, %v", other, err)
		}
		if _, _, err := w.svc.Create(w.ctx, "no-such-team", "https://hooks.example.com/", nil); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("create for unknown team: %v, want not found", err)
		}

		if err := w.svc.Delete(w.ctx, w.ops.ID, h.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Get(w.ctx, w.ops.ID, h.ID); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("get after delete: %v", err)
		}
	})
}

func TestWebhookLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		for range 20 {
			w.hook(w.dev.ID)
		}
		_, _, err := w.svc.Create(w.ctx, w.dev.ID, w.rcv.srv.URL, nil)
		if apperr.KindOf(err) != apperr.Conflict || !strings.Contains(err.Error(), "at most 20") {
			t.Fatalf("21st webhook: %v", err)
		}
	})
}

func TestSendTestQueuesEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID, 200)
		off := false
		if _, err := w.svc.Update(w.ctx, w.ops.ID, h.ID, &off, nil); err != nil {
			t.Fatal(err)
		}
		d, err := w.svc.SendTest(w.ctx, w.ops.ID, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.EventType != outbound.EventTest || d.Source != "test" || d.Status != "pending" || d.NextAt == nil || !d.NextAt.Equal(start) {
			t.Errorf("test delivery = %+v", d)
		}
		ds := w.deliveries(h)
		if len(ds) != 1 || ds[0].EventID != d.EventID || ds[0].SourceID != d.SourceID {
			t.Fatalf("deliveries = %+v, want the test", ds)
		}
		// A test goes out even while the webhook is off, and whatever its
		// event types.
		w.run()
		w.rcv.only(t, 0)
		ds = w.deliveries(h)
		if ds[0].Status != "sent" || ds[0].Attempts != 1 || ds[0].SentAt == nil || !ds[0].SentAt.Equal(start) {
			t.Errorf("after sending: %+v", ds[0])
		}
		got, _ := w.svc.Get(w.ctx, w.ops.ID, h.ID)
		if got.LastStatus != "sent" || got.LastError != "" || got.LastAt == nil || !got.LastAt.Equal(start) {
			t.Errorf("webhook after a sent test: %+v", got)
		}
	})
}
