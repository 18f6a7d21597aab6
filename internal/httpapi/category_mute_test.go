package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A muted category's alerts are recorded but queued for nobody, and their
// timeline says why; unmuted, the next alert notifies again. Emergencies
// are never muted.
func TestMutedCategorySilencesItsAlerts(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		auth := map[string]string{"Authorization": "Bearer " + e.adminKey, "Content-Type": "application/json"}
		r := e.do("POST", "/api/v1/teams/"+e.team.ID+"/categories", strings.NewReader(`{"name":"Backups","keywords":["backup"]}`), auth)
		if r.status != http.StatusCreated {
			t.Fatalf("create category: %d %s", r.status, r.body)
		}
		cat := r.json(t)["id"].(string)
		mute := "/api/v1/teams/" + e.team.ID + "/categories/" + cat + "/mute"
		if r := e.do("POST", mute, strings.NewReader(`{"minutes":0}`), auth); r.status != http.StatusBadRequest {
			t.Fatalf("mute for 0 minutes: %d", r.status)
		}
		if r := e.do("POST", mute, strings.NewReader(`{"minutes":100000}`), auth); r.status != http.StatusBadRequest {
			t.Fatalf("mute for 100000 minutes: %d", r.status)
		}
		r = e.do("POST", mute, strings.NewReader(`{"minutes":60}`), auth)
		if r.status != http.StatusOK || r.json(t)["mutedUntil"] == nil {
			t.Fatalf("mute: %d %s", r.status, r.body)
		}
		state := func(title string) (string, string) {
			t.Helper()
			var id, st string
			if err := e.db.QueryRow(ctx, `SELECT a.id, g.state FROM alerts a JOIN alert_engine g ON g.alert_id = a.id WHERE a.title = ?`, title).Scan(&id, &st); err != nil {
				t.Fatalf("alert %q: %v", title, err)
			}
			return id, st
		}
		e.send("application/json", `{"Title":"nightly backup failed"}`)
		e.send("application/json", `{"Title":"db down"}`)
		e.send("application/json", `{"Title":"backup of everything failed","X-S4-AlertingScenario":"emergency"}`)
		id, st := state("nightly backup failed")
		if st != "done" {
			t.Errorf("an alert of the muted category is %q for the engine, want done", st)
		}
		tl, err := e.alerts.Timeline(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if last := tl[len(tl)-1]; !strings.Contains(last.Text, "not notified: category Backups is muted until") {
			t.Errorf("timeline ends %+v, want the mute named", last)
		}
		if _, st := state("db down"); st != "planning" {
			t.Errorf("an alert of no category is %q, want planning", st)
		}
		if _, st := state("backup of everything failed"); st != "planning" {
			t.Errorf("an emergency of the muted category is %q, want planning", st)
		}
		// The mute ends by itself, or at once when deleted.
		e.clock.Advance(61 * time.Minute)
		e.send("application/json", `{"Title":"backup late again"}`)
		if _, st := state("backup late again"); st != "planning" {
			t.Errorf("after the mute ended an alert is %q, want planning", st)
		}
		e.do("POST", mute, strings.NewReader(`{"minutes":60}`), auth)
		if r := e.do("DELETE", mute, nil, auth); r.status != http.StatusOK || r.json(t)["mutedUntil"] != nil {
			t.Fatalf("unmute: %d %s", r.status, r.body)
		}
		e.clock.Advance(3 * time.Second) // past the categories cache
		e.send("application/json", `{"Title":"backup slow"}`)
		if _, st := state("backup slow"); st != "planning" {
			t.Errorf("after unmuting an alert is %q, want planning", st)
		}
	})
}
