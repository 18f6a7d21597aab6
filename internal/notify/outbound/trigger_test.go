package outbound_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
)

// The triggers queue one delivery per enabled webhook of the team for
// each timeline entry an outbound event stands for and each duty event,
// in the transaction that writes it.
func TestTriggersQueueDeliveries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		h, _ := w.hook(w.ops.ID)
		off, _ := w.hook(w.ops.ID)
		disabled := false
		if _, err := w.svc.Update(w.ctx, w.ops.ID, off.ID, &disabled, nil); err != nil {
			t.Fatal(err)
		}
		other, _ := w.hook(w.dev.ID)

		alertID := w.raise(`{"title": "Disk full"}`) // created
		want := []string{"timeline 200"}
		for _, tc := range []struct {
			kind string
			typ  int // 0: none
		}{
			{"acknowledged", 201}, {"unacknowledged", 201}, {"closed", 201}, {"reopened", 201},
			{"escalated", 202}, {"annotated", 203},
			{"duplicate", 0}, {"planned", 0}, {"notified", 0}, {"notification_failed", 0},
		} {
			if _, err := db.Exec(w.ctx, `INSERT INTO timeline (alert_id, at, kind, actor_type) VALUES (?, ?, ?, 'system')`,
				alertID, store.Micros(w.clock.Now()), tc.kind); err != nil {
				t.Fatal(err)
			}
			if tc.typ != 0 {
				want = append(want, fmt.Sprintf("timeline %d", tc.typ))
			}
		}
		w.clock.Advance(time.Second)
		for _, kind := range []string{"duty_started", "duty_ended", "punched_in", "punched_out"} {
			if _, err := db.Exec(w.ctx, `INSERT INTO duty_events (team_id, kind, user_id, manager, tier, at) VALUES (?, ?, ?, ?, 1, ?)`,
				w.ops.ID, kind, w.ann.ID, false, store.Micros(w.clock.Now())); err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, "duty 300", "duty 301", "duty 302", "duty 303")

		var got []string
		for _, d := range w.deliveries(h) {
			got = append(got, fmt.Sprintf("%s %d", d.Source, d.EventType))
			if d.Status != "pending" || d.Attempts != 0 || d.NextAt == nil || !d.NextAt.Equal(d.CreatedAt) {
				t.Errorf("new delivery %+v", d)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("deliveries\n got %v\nwant %v", got, want)
		}
		if ds := w.deliveries(off); len(ds) != 0 {
			t.Errorf("disabled webhook got %d deliveries", len(ds))
		}
		if ds := w.deliveries(other); len(ds) != 0 {
			t.Errorf("other team's webhook got %d deliveries", len(ds))
		}
	})
}
