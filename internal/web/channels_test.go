package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/settings"
	"github.com/lastmile/lastmile/internal/notify/webhook"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/team"
)

// chanFakeProvider is a provider whose credential check refuses the token
// "bad", as a provider refuses a wrong password.
func chanFakeProvider() notify.Provider {
	return notify.Provider{Name: "pager", Channels: []string{"pager"}, Secrets: []string{"token"},
		Build: func(raw json.RawMessage, d notify.Deps) ([]notify.Channel, error) {
			var s struct {
				Token string `json:"token"`
			}
			if err := notify.DecodeSettings(raw, &s); err != nil {
				return nil, err
			}
			if s.Token == "" {
				return nil, notify.ErrNotConfigured
			}
			return []notify.Channel{chanFakeChannel{token: s.Token}}, nil
		}}
}

type chanFakeChannel struct{ token string }

func (chanFakeChannel) Name() string { return "pager" }
func (chanFakeChannel) Send(context.Context, notify.Message) (string, error) {
	return "", errors.New("not in tests")
}
func (c chanFakeChannel) Check(context.Context) error {
	if c.token == "bad" {
		return errors.New("the pager service says the token is wrong")
	}
	return nil
}

// withChanFake adds the fake provider to the harness's channel settings.
func withChanFake(t *testing.T) harnessOption {
	return func(h *harness, cfg *Config) {
		box, err := seal.New([]byte("lastmile-web-test-key-32-bytes!!"))
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.DiscardHandler)
		deps := notify.Deps{Log: log, Clock: h.clock, BaseURL: "http://lastmile.test", HTTP: http.DefaultClient,
			Guarded: notify.GuardedClient(true, 5*time.Second), Keys: h.keys}
		h.settings = settings.New(h.db, box, h.clock, log, deps, notify.NewRegistry(), chanFakeProvider(),
			webhook.Provider(webhook.Options{Secret: []byte("webhook-secret"), AllowPrivate: true}))
		if err := h.settings.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		cfg.Channels = h.settings
	}
}

func TestChannelsPageIsForAdministrators(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "boss@example.com", team.RoleAdmin)
	boss := h.login("boss@example.com")
	if p := boss.get("/admin/channels"); p.status != http.StatusForbidden {
		t.Errorf("a team admin got the channels page: %d", p.status)
	}
	if p := boss.post("/admin/channels/webhook", url.Values{"settings": {"{}"}}); p.status != http.StatusForbidden {
		t.Errorf("a team admin saved channel settings: %d", p.status)
	}
	if p := h.anon().get("/admin/channels"); p.status != http.StatusSeeOther {
		t.Errorf("signed out: %d, want a redirect to sign in", p.status)
	}
	p := h.login(h.admin.Email).get("/admin/channels")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="chan-push"`) || !strings.Contains(p.body, `id="chan-webhook"`) ||
		!strings.Contains(p.body, "docs/channels/push.md") {
		t.Fatalf("admin: %d %s", p.status, p.body)
	}
}

func TestChannelsInvalidJSONIsRefusedClearly(t *testing.T) {
	h := sqliteHarness(t)
	c := h.login(h.admin.Email)
	p := c.post("/admin/channels/push", url.Values{"settings": {"{\n  \"subject\": \"mailto:x@example.com\",\n}"}, "enabled": {"1"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "The settings are not valid JSON") || !strings.Contains(p.body, "line 3, column 1") {
		t.Fatalf("invalid JSON: %d %s", p.status, p.body)
	}
	if !strings.Contains(p.body, "mailto:x@example.com") {
		t.Error("the typed settings are lost")
	}
	if p := c.post("/admin/channels/push", url.Values{"settings": {`["a"]`}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "must be a JSON object") {
		t.Errorf("an array: %d", p.status)
	}
	if p := c.post("/admin/channels/push", url.Values{"settings": {`{"urgent": "high"}`}, "enabled": {"1"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "urgent") {
		t.Errorf("an unknown field: %d %s", p.status, p.body)
	}
	v, err := h.settings.Get(context.Background(), "push")
	if err != nil || v.UpdatedAt != nil {
		t.Fatalf("refused settings were saved: %+v %v", v, err)
	}
	if p := c.post("/admin/channels/push", url.Values{"settings": {`{"subject": "mailto:ops@example.com"}`}, "enabled": {"1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("valid settings: %d %s", p.status, p.body)
	}
	if v, _ := h.settings.Get(context.Background(), "push"); !strings.Contains(string(v.Settings), "ops@example.com") || v.UpdatedBy != h.admin.Email {
		t.Errorf("saved: %s by %q", v.Settings, v.UpdatedBy)
	}
}

func TestChannelsRefusedSaveCanBeForced(t *testing.T) {
	h := sqliteHarness(t, withChanFake(t))
	ctx := context.Background()
	c := h.login(h.admin.Email)
	if p := c.get("/admin/channels"); !strings.Contains(p.body, "not configured") {
		t.Error("the fake provider is not shown as not configured")
	}
	p := c.post("/admin/channels/pager", url.Values{"settings": {`{"token": "bad"}`}, "enabled": {"1"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "the pager service says the token is wrong") || !strings.Contains(p.body, "Save anyway") {
		t.Fatalf("refused: %d %s", p.status, p.body)
	}
	if v, _ := h.settings.Get(ctx, "pager"); v.UpdatedAt != nil {
		t.Fatal("refused settings were saved")
	}
	p = c.post("/admin/channels/pager", url.Values{"settings": {`{"token": "bad"}`}, "enabled": {"1"}, "force": {"1"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("forced: %d %s", p.status, p.body)
	}
	v, _ := h.settings.Get(ctx, "pager")
	if v.Status != "failing" || !strings.Contains(v.LastError, "token is wrong") {
		t.Errorf("forced save: %+v", v)
	}
	page := c.get("/admin/channels")
	if !strings.Contains(page.body, "Saved anyway") || !strings.Contains(page.body, `<span class="badge bad">failing</span>`) {
		t.Error("the forced save's state is not shown")
	}
	if strings.Contains(page.body, `"bad"`) || !strings.Contains(page.body, seal.Masked) {
		t.Error("the token must be shown masked")
	}
	if p := c.post("/admin/channels/pager", url.Values{"settings": {`{"token": "good"}`}, "enabled": {"1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("good token: %d", p.status)
	}
	if p := c.post("/admin/channels/pager/check", nil); p.status != http.StatusSeeOther {
		t.Fatalf("check: %d", p.status)
	}
	if v, _ := h.settings.Get(ctx, "pager"); v.Status != "ok" {
		t.Errorf("after a good token and a check: %+v", v)
	}
	// Saving the mask back keeps the stored token.
	if p := c.post("/admin/channels/pager", url.Values{"settings": {`{"token": "` + seal.Masked + `"}`}, "enabled": {"1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("masked token kept: %d %s", p.status, p.body)
	}
}

func TestChannelsTestSend(t *testing.T) {
	h := sqliteHarness(t)
	var mu sync.Mutex
	var got []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(sink.Close)
	c := h.login(h.admin.Email)
	if p := c.post("/admin/channels/webhook/test", url.Values{"channel": {"webhook"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "You have no webhook address") {
		t.Errorf("test without an address: %d %s", p.status, p.body)
	}
	p := c.post("/admin/channels/webhook/test", url.Values{"channel": {"webhook"}, "address": {sink.URL + "/in"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("test send: %d %s", p.status, p.body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || !strings.Contains(got[0], "lastmile test notification") {
		t.Fatalf("the sink got %q", got)
	}
}
