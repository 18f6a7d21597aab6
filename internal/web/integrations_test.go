package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/team"
)

func integPath(h *harness, rest string) string { return "/teams/" + h.team.ID + "/integrations" + rest }

func TestIntegrationsRoleBoundaries(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		h.member(h.team.ID, "res@example.com", team.RoleResponder)
		h.member(h.team.ID, "man@example.com", team.RoleManager)
		h.member(h.team.ID, "boss@example.com", team.RoleAdmin)
		other, _, err := h.teams.CreateTeam(context.Background(), "Other", "")
		if err != nil {
			t.Fatal(err)
		}
		h.member(other.ID, "stranger@example.com", team.RoleAdmin)

		if p := h.login("res@example.com").get(integPath(h, "")); p.status != http.StatusForbidden {
			t.Errorf("a responder got the integrations page: %d", p.status)
		}
		stranger := h.login("stranger@example.com")
		if p := stranger.get(integPath(h, "")); p.status != http.StatusNotFound {
			t.Errorf("an admin of another team got %d, want 404", p.status)
		}
		if p := stranger.post(integPath(h, "/rotate-secret"), nil); p.status != http.StatusNotFound {
			t.Errorf("an admin of another team rotating the secret got %d, want 404", p.status)
		}

		man := h.login("man@example.com")
		p := man.get(integPath(h, ""))
		if p.status != http.StatusOK {
			t.Fatalf("manager: %d %s", p.status, p.body)
		}
		if !strings.Contains(p.body, "/webhook/"+h.team.SecretPrefix+"…") || strings.Contains(p.body, h.secret) {
			t.Errorf("the page should show the secret's prefix only")
		}
		for _, action := range []string{"/rotate-secret", "/outbound"} {
			if strings.Contains(p.body, `action="`+integPath(h, action)) {
				t.Errorf("a manager sees the form %s", action)
			}
		}
		if !strings.Contains(p.body, "Team admins manage the outbound webhooks") {
			t.Error("a manager is not told who manages outbound webhooks")
		}
		if p := man.post(integPath(h, "/rotate-secret"), nil); p.status != http.StatusForbidden {
			t.Errorf("a manager rotating the secret got %d, want 403", p.status)
		}
		if p := man.post(integPath(h, "/outbound"), url.Values{"url": {"https://example.com/x"}, "events": {"200"}}); p.status != http.StatusForbidden {
			t.Errorf("a manager adding an outbound webhook got %d, want 403", p.status)
		}
		if _, err := h.teams.TeamBySecret(context.Background(), h.secret); err != nil {
			t.Errorf("the secret changed after refused rotations: %v", err)
		}

		p = h.login("boss@example.com").get(integPath(h, ""))
		if !strings.Contains(p.body, `action="`+integPath(h, "/rotate-secret")+`"`) || !strings.Contains(p.body, `action="`+integPath(h, "/outbound")+`"`) {
			t.Error("a team admin does not get the rotate and outbound forms")
		}
	})
}

func TestIntegrationsRotateShowsTheNewURLOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		h.member(h.team.ID, "boss@example.com", team.RoleAdmin)
		c := h.login("boss@example.com")
		p := c.post(integPath(h, "/rotate-secret"), nil)
		if p.status != http.StatusOK {
			t.Fatalf("rotate: %d %s", p.status, p.body)
		}
		m := regexp.MustCompile(`<code id="reveal-webhook" class="int-value">http://lastmile\.test/webhook/([^<]+)</code>`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("the new webhook URL is not shown:\n%s", p.body)
		}
		secret := m[1]
		if !strings.Contains(p.body, "http://lastmile.test/api/v2/events/"+secret) || !strings.Contains(p.body, "shown only this once") {
			t.Error("the events URL or the warning is missing")
		}
		if !strings.Contains(p.body, "curl -X POST &#39;http://lastmile.test/webhook/"+secret) {
			t.Error("the example commands do not use the new URL")
		}
		if tm, err := h.teams.TeamBySecret(ctx, secret); err != nil || tm.ID != h.team.ID {
			t.Fatalf("the shown secret does not find the team: %v", err)
		}
		if _, err := h.teams.TeamBySecret(ctx, h.secret); apperr.KindOf(err) != apperr.NotFound {
			t.Fatalf("the old secret still works: %v", err)
		}
		again := c.get(integPath(h, ""))
		if again.status != http.StatusOK || strings.Contains(again.body, secret) {
			t.Fatalf("the secret is shown again on a later visit (%d)", again.status)
		}
		if !strings.Contains(again.body, "/webhook/"+secret[:6]+"…") {
			t.Error("the later page does not show the new secret's prefix")
		}
	})
}

var integKeyShown = regexp.MustCompile(`<code id="reveal-key" class="int-value">(lm_[^<]+)</code>`)

func TestIntegrationsAPIKeys(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		man := h.member(h.team.ID, "man@example.com", team.RoleManager)
		c := h.login("man@example.com")
		if p := c.post(integPath(h, "/api-keys"), url.Values{"name": {"  "}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Give the key a name") {
			t.Errorf("a key without a name: %d", p.status)
		}
		p := c.post(integPath(h, "/api-keys"), url.Values{"name": {"grafana"}})
		m := integKeyShown.FindStringSubmatch(p.body)
		if p.status != http.StatusOK || m == nil {
			t.Fatalf("create key: %d, key shown: %v", p.status, m != nil)
		}
		key := m[1]
		if u, err := h.teams.Authenticate(ctx, key); err != nil || u.ID != man.ID {
			t.Fatalf("the shown key does not authenticate the manager: %v", err)
		}
		if !strings.Contains(p.body, `Authorization: Bearer `+key) {
			t.Error("the example does not use the new key")
		}
		keys, err := h.teams.APIKeys(ctx, man.ID)
		if err != nil || len(keys) != 1 || keys[0].Name != "grafana" {
			t.Fatalf("keys = %+v, %v", keys, err)
		}
		later := c.get(integPath(h, ""))
		if strings.Contains(later.body, key) || !strings.Contains(later.body, keys[0].Prefix+"…") || !strings.Contains(later.body, "grafana") {
			t.Error("the later page must list the key by its prefix and never show it whole")
		}

		// Another user cannot revoke the manager's key through their page.
		h.member(h.team.ID, "boss@example.com", team.RoleAdmin)
		if p := h.login("boss@example.com").post(integPath(h, "/api-keys/"+keys[0].ID+"/revoke"), nil); p.status != http.StatusNotFound {
			t.Errorf("revoking another user's key: %d, want 404", p.status)
		}
		if p := c.post(integPath(h, "/api-keys/"+keys[0].ID+"/revoke"), nil); p.status != http.StatusSeeOther {
			t.Fatalf("revoke: %d %s", p.status, p.body)
		}
		if _, err := h.teams.Authenticate(ctx, key); apperr.KindOf(err) != apperr.Unauthorized {
			t.Fatalf("a revoked key still works: %v", err)
		}
		if p := c.get(integPath(h, "")); !strings.Contains(p.body, "revoked") {
			t.Error("the page does not show the key as revoked")
		}
	})
}

func TestIntegrationsOutboundWebhooks(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		t.Cleanup(sink.Close)
		h.member(h.team.ID, "boss@example.com", team.RoleAdmin)
		c := h.login("boss@example.com")

		if p := c.post(integPath(h, "/outbound"), url.Values{"url": {sink.URL + "/hook"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Pick at least one event type") {
			t.Errorf("a webhook without events: %d", p.status)
		}
		p := c.post(integPath(h, "/outbound"), url.Values{"url": {sink.URL + "/hook"}, "events": {"200", "201"}})
		if p.status != http.StatusOK || !strings.Contains(p.body, `id="reveal-signing"`) {
			t.Fatalf("create outbound webhook: %d %s", p.status, p.body)
		}
		hooks, err := h.outbound.List(ctx, h.team.ID)
		if err != nil || len(hooks) != 1 {
			t.Fatalf("webhooks = %+v, %v", hooks, err)
		}
		wh := hooks[0]
		if wh.URL != sink.URL+"/hook" || len(wh.Events) != 2 || wh.Events[0] != outbound.EventCreated || !wh.Enabled {
			t.Fatalf("the webhook was saved as %+v", wh)
		}
		if !strings.Contains(p.body, "Alert raised, Alert acknowledged, closed or reopened") {
			t.Error("the page does not list the webhook's events in words")
		}

		act := func(action string, form url.Values) {
			t.Helper()
			if p := c.post(integPath(h, "/outbound/"+wh.ID+"/"+action), form); p.status != http.StatusSeeOther {
				t.Fatalf("%s: %d %s", action, p.status, p.body)
			}
		}
		act("disable", nil)
		if got, _ := h.outbound.Get(ctx, h.team.ID, wh.ID); got.Enabled {
			t.Error("disable left the webhook on")
		}
		act("enable", nil)
		all := url.Values{}
		for _, e := range integEventTypes {
			all.Add("events", strconv.Itoa(e.Type))
		}
		act("events", all)
		if got, _ := h.outbound.Get(ctx, h.team.ID, wh.ID); !got.Enabled || len(got.Events) != 0 {
			t.Errorf("after enable and ticking every event: %+v, want on and all events", got)
		}
		act("test", nil)
		page := c.get(integPath(h, ""))
		if !strings.Contains(page.body, "<td>Test event</td>") || !strings.Contains(page.body, "every event") {
			t.Error("the queued test delivery is not listed")
		}

		p = c.post(integPath(h, "/outbound/"+wh.ID+"/rotate-secret"), nil)
		if p.status != http.StatusOK || !strings.Contains(p.body, `id="reveal-signing"`) {
			t.Fatalf("rotate the signing secret: %d", p.status)
		}
		act("delete", nil)
		if _, err := h.outbound.Get(ctx, h.team.ID, wh.ID); apperr.KindOf(err) != apperr.NotFound {
			t.Fatalf("the deleted webhook is still there: %v", err)
		}
	})
}
