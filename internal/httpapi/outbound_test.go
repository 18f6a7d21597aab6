package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/httpapi"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

func TestOutboundWebhookRoutes(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, responderKey := e.user("resp@example.com", e.team.ID, team.RoleResponder)
		_, managerKey := e.user("mgr@example.com", e.team.ID, team.RoleManager)
		_, adminKey := e.user("lead@example.com", e.team.ID, team.RoleAdmin)
		base := "/api/v1/teams/" + e.team.ID + "/outbound-webhooks"
		create := map[string]any{"url": "http://127.0.0.1:9/hook", "events": []int{201, 200, 200}}

		for _, key := range []string{responderKey, managerKey} {
			wantError(t, "create below team admin", e.api("POST", base, key, create), http.StatusForbidden, "admin")
			wantError(t, "list below team admin", e.api("GET", base, key, nil), http.StatusForbidden)
		}

		r := e.api("POST", base, adminKey, create)
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		var created struct {
			Webhook outbound.Webhook `json:"webhook"`
			Secret  string           `json:"secret"`
		}
		decodeInto(t, r, &created)
		wh := created.Webhook
		if len(created.Secret) < 32 || wh.ID == "" || wh.TeamID != e.team.ID || !wh.Enabled || wh.URL != "http://127.0.0.1:9/hook" ||
			len(wh.Events) != 2 || wh.Events[0] != 200 || wh.Events[1] != 201 {
			t.Fatalf("created %+v with secret %q", wh, created.Secret)
		}
		one := base + "/" + wh.ID

		// The secret is shown once.
		for _, p := range []string{base, one} {
			r := e.api("GET", p, adminKey, nil)
			if r.status != 200 || strings.Contains(string(r.body), created.Secret) || strings.Contains(string(r.body), `"secret"`) {
				t.Fatalf("GET %s: %d %s", p, r.status, r.body)
			}
		}
		var list struct{ Items []outbound.Webhook }
		decodeInto(t, e.api("GET", base, e.adminKey, nil), &list)
		if len(list.Items) != 1 || list.Items[0].ID != wh.ID {
			t.Fatalf("list as instance admin: %+v", list.Items)
		}

		r = e.api("PATCH", one, adminKey, map[string]any{"enabled": false, "events": []int{202}})
		var patched outbound.Webhook
		decodeInto(t, r, &patched)
		if r.status != 200 || patched.Enabled || len(patched.Events) != 1 || patched.Events[0] != 202 {
			t.Fatalf("patch: %d %s", r.status, r.body)
		}
		wantError(t, "unknown event type", e.api("PATCH", one, adminKey, map[string]any{"events": []int{999}}), http.StatusBadRequest, "999")
		wantError(t, "unknown field", e.api("PATCH", one, adminKey, map[string]any{"url": "https://example.com/"}), http.StatusBadRequest)
		wantError(t, "create with an unknown event type", e.api("POST", base, adminKey, map[string]any{"url": "http://127.0.0.1:9/x", "events": []int{7}}),
			http.StatusBadRequest, "7")
		if got, err := e.storedWebhook(ctx, wh.ID); err != nil || got.Enabled || got.Events[0] != 202 {
			t.Fatalf("stored after a refused patch: %+v %v", got, err)
		}

		r = e.api("POST", one+"/rotate-secret", adminKey, nil)
		if s, _ := r.json(t)["secret"].(string); r.status != 200 || len(s) < 32 || s == created.Secret {
			t.Fatalf("rotate: %d %s", r.status, r.body)
		}

		// A test is queued even while the webhook is off.
		r = e.api("POST", one+"/test", adminKey, nil)
		if d := r.json(t); r.status != http.StatusAccepted || d["eventType"] != float64(outbound.EventTest) || d["status"] != "pending" || d["eventId"] == "" {
			t.Fatalf("test: %d %s", r.status, r.body)
		}
		var n int
		if err := e.db.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ? AND event_type = ?`, wh.ID, outbound.EventTest).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d test deliveries queued (%v), want 1", n, err)
		}
		var ds struct{ Items []outbound.Delivery }
		decodeInto(t, e.api("GET", one+"/deliveries?limit=10", adminKey, nil), &ds)
		if len(ds.Items) != 1 || ds.Items[0].EventType != outbound.EventTest || ds.Items[0].Status != "pending" {
			t.Fatalf("deliveries: %+v", ds.Items)
		}
		wantError(t, "limit 0", e.api("GET", one+"/deliveries?limit=0", adminKey, nil), http.StatusBadRequest, "limit")

		// Another team's webhook is not found through this team, nor is
		// the other team visible to this team's admin.
		other, _, err := e.teams.CreateTeam(ctx, "Other", "")
		if err != nil {
			t.Fatal(err)
		}
		otherBase := "/api/v1/teams/" + other.ID + "/outbound-webhooks"
		r = e.api("POST", otherBase, e.adminKey, map[string]any{"url": "http://127.0.0.1:9/other"})
		if r.status != http.StatusCreated {
			t.Fatalf("create in other team: %d %s", r.status, r.body)
		}
		otherID := r.json(t)["webhook"].(map[string]any)["id"].(string)
		foreign := base + "/" + otherID
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", foreign, nil}, {"PATCH", foreign, map[string]any{"enabled": false}}, {"DELETE", foreign, nil},
			{"POST", foreign + "/rotate-secret", nil}, {"POST", foreign + "/test", nil}, {"GET", foreign + "/deliveries", nil},
		} {
			wantError(t, c.method+" another team's webhook", e.api(c.method, c.path, adminKey, c.body), http.StatusNotFound)
			wantError(t, c.method+" another team's webhook as instance admin", e.api(c.method, c.path, e.adminKey, c.body), http.StatusNotFound)
		}
		wantError(t, "other team's list", e.api("GET", otherBase, adminKey, nil), http.StatusNotFound)
		if got, err := e.storedWebhook(ctx, otherID); err != nil || !got.Enabled {
			t.Fatalf("the other team's webhook was changed: %+v %v", got, err)
		}

		if r := e.api("DELETE", one, adminKey, nil); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		wantError(t, "GET deleted", e.api("GET", one, adminKey, nil), http.StatusNotFound)
		wantError(t, "DELETE deleted", e.api("DELETE", one, adminKey, nil), http.StatusNotFound)
		decodeInto(t, e.api("GET", base, adminKey, nil), &list)
		if len(list.Items) != 0 {
			t.Fatalf("list after delete: %+v", list.Items)
		}
		if err := e.db.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?`, wh.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d deliveries left after delete (%v)", n, err)
		}
	})
}

// storedWebhook reads a webhook straight from the database, whatever
// team it is in.
func (e *env) storedWebhook(ctx context.Context, id string) (outbound.Webhook, error) {
	var teamID string
	if err := e.db.QueryRow(ctx, `SELECT team_id FROM team_webhooks WHERE id = ?`, id).Scan(&teamID); err != nil {
		return outbound.Webhook{}, err
	}
	return outbound.NewService(e.db, e.box, e.clock, outbound.Options{}).Get(ctx, teamID, id)
}

func TestOutboundWebhookPrivateTargets(t *testing.T) {
	strict := func(e *env, ch *httpapi.Channels) {
		ch.Outbound = outbound.NewService(e.db, e.box, e.clock, outbound.Options{BaseURL: "http://lastmile.test"})
	}
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := newEnvWith(t, d, httpapi.Config{}, strict)
			base := "/api/v1/teams/" + e.team.ID + "/outbound-webhooks"
			for _, c := range []struct{ url, says string }{
				{"https://10.1.2.3/hook", "private"},
				{"https://127.0.0.1:8443/hook", "loopback"},
				{"https://[fe80::1]/hook", "link-local"},
				{"http://203.0.113.7/hook", "https"},
			} {
				wantError(t, c.url, e.api("POST", base, e.adminKey, map[string]any{"url": c.url}), http.StatusBadRequest, c.says)
			}
			if r := e.api("POST", base, e.adminKey, map[string]any{"url": "https://203.0.113.7/hook"}); r.status != http.StatusCreated {
				t.Fatalf("public https target: %d %s", r.status, r.body)
			}
		})
	}
}
