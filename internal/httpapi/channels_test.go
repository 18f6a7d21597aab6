package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/httpapi"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/settings"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

// putFake saves the fake provider's settings as the instance admin and
// fails unless they are taken.
func (e *env) putFake(body map[string]any) map[string]any {
	e.t.Helper()
	r := e.api("PUT", "/api/v1/channels/fake", e.adminKey, body)
	if r.status != http.StatusOK {
		e.t.Fatalf("PUT fake settings: %d %s", r.status, r.body)
	}
	return r.json(e.t)
}

// lastSent returns the fake provider's latest message.
func (e *env) lastSent() fakeSent {
	e.t.Helper()
	m, ok := e.fake.last()
	if !ok {
		e.t.Fatal("the fake provider was sent nothing")
	}
	return m
}

// wantError checks an error answer's status and that its message holds
// every one of words.
func wantError(t *testing.T, what string, r response, status int, words ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	msg, _ := r.json(t)["message"].(string)
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Fatalf("%s: message %q does not say %q", what, msg, w)
		}
	}
}

func TestChannelSettings(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, memberKey := e.user("member@example.com", e.team.ID, team.RoleAdmin)
		const number = "+4915112345678"

		// Only instance administrators, even team admins are refused.
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/v1/channels"}, {"GET", "/api/v1/channels/fake"}, {"PUT", "/api/v1/channels/fake"},
			{"POST", "/api/v1/channels/fake/check"}, {"POST", "/api/v1/channels/fake/test"},
		} {
			r := e.api(c.method, c.path, memberKey, map[string]any{"settings": map[string]any{"token": "member-token"}})
			wantError(t, c.method+" "+c.path+" as member", r, http.StatusForbidden)
		}

		// Nothing saved yet: listed, not configured, and a test says so plainly.
		r := e.api("GET", "/api/v1/channels", e.adminKey, nil)
		if r.status != 200 {
			t.Fatalf("list channels: %d %s", r.status, r.body)
		}
		var list struct{ Items []settings.View }
		decodeInto(t, r, &list)
		views := map[string]settings.View{}
		for _, v := range list.Items {
			views[v.Provider] = v
		}
		if v, ok := views["fake"]; !ok || v.Configured || v.Status != "unchecked" || strings.Join(v.Channels, ",") != "sms,email" {
			t.Fatalf("fake before saving: %+v (of %d providers)", v, len(list.Items))
		}
		if v, ok := views["webhook"]; !ok || !v.Configured {
			t.Fatalf("webhook provider: %+v", v)
		}
		r = e.api("POST", "/api/v1/channels/fake/test", e.adminKey, map[string]string{"address": number})
		wantError(t, "test on unconfigured provider", r, http.StatusServiceUnavailable, "not configured", `"fake"`)
		if len(e.fake.Sent()) != 0 {
			t.Fatal("a message went out on an unconfigured provider")
		}

		// Incomplete and misspelt settings are refused, naming what is wrong.
		wantError(t, "no token", e.api("PUT", "/api/v1/channels/fake", e.adminKey, map[string]any{"settings": map[string]any{}}),
			http.StatusBadRequest, "incomplete", "token is required")
		wantError(t, "unknown field", e.api("PUT", "/api/v1/channels/fake", e.adminKey, map[string]any{"settings": map[string]any{"token": "t", "colour": "red"}}),
			http.StatusBadRequest, "colour")

		// Saved: the secret is masked when shown and sealed at rest.
		v := e.putFake(map[string]any{"settings": map[string]any{"token": "tok-first-secret"}})
		if v["status"] != "ok" || v["configured"] != true || v["enabled"] != true || v["updatedBy"] != "admin@example.com" {
			t.Fatalf("after PUT: %v", v)
		}
		r = e.api("GET", "/api/v1/channels/fake", e.adminKey, nil)
		got := r.json(t)
		if s, _ := got["settings"].(map[string]any); s["token"] != settings.Masked || strings.Contains(string(r.body), "tok-first-secret") {
			t.Fatalf("GET shows the secret: %s", r.body)
		}
		var sealed string
		if err := e.db.QueryRow(ctx, `SELECT settings FROM channel_settings WHERE provider = ?`, "fake").Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sealed, "tok-first-secret") || strings.Contains(sealed, "token") || !strings.HasPrefix(sealed, "v1.") {
			t.Fatalf("stored settings are not sealed: %q", sealed)
		}

		// A test message goes through the provider, built with the token.
		sendTest := func(body map[string]string) fakeSent {
			t.Helper()
			n := len(e.fake.Sent())
			r := e.api("POST", "/api/v1/channels/fake/test", e.adminKey, body)
			if r.status != 200 || r.json(t)["sent"] != true {
				t.Fatalf("test %v: %d %s", body, r.status, r.body)
			}
			if len(e.fake.Sent()) != n+1 {
				t.Fatalf("test %v: %d messages sent, want 1", body, len(e.fake.Sent())-n)
			}
			m := e.lastSent()
			if m.Kind != notify.KindTest || m.Address != body["address"] || len(m.Actions) != 0 {
				t.Fatalf("test message %+v", m.Message)
			}
			return m
		}
		if m := sendTest(map[string]string{"address": number}); m.Channel != "sms" || m.Token != "tok-first-secret" {
			t.Fatalf("test went out on %s with token %q", m.Channel, m.Token)
		}
		if m := sendTest(map[string]string{"channel": "email", "address": "ops@example.com"}); m.Channel != "email" {
			t.Fatalf("email test went out on %s", m.Channel)
		}
		wantError(t, "test on a channel the provider does not serve", e.api("POST", "/api/v1/channels/fake/test", e.adminKey,
			map[string]string{"channel": "voice", "address": number}), http.StatusBadRequest, "voice")

		// Settings the provider refuses are not saved.
		r = e.api("PUT", "/api/v1/channels/fake", e.adminKey, map[string]any{"settings": map[string]any{"token": "tok-second", "failCheck": true}})
		wantError(t, "refused settings", r, http.StatusBadRequest, "refused", "nothing was saved", errFakeRefused.Error())
		if v := e.api("GET", "/api/v1/channels/fake", e.adminKey, nil).json(t); v["status"] != "ok" {
			t.Fatalf("after a refused PUT: %v", v)
		}
		if m := sendTest(map[string]string{"address": number}); m.Token != "tok-first-secret" {
			t.Fatalf("after a refused PUT the provider sends with %q", m.Token)
		}

		// Forced, they are saved and shown failing.
		v = e.putFake(map[string]any{"settings": map[string]any{"token": "tok-second", "failCheck": true}, "force": true})
		if v["status"] != "failing" || !strings.Contains(v["lastError"].(string), errFakeRefused.Error()) {
			t.Fatalf("forced PUT: %v", v)
		}
		if m := sendTest(map[string]string{"address": number}); m.Token != "tok-second" {
			t.Fatalf("after a forced PUT the provider sends with %q", m.Token)
		}
		r = e.api("POST", "/api/v1/channels/fake/check", e.adminKey, nil)
		if v := r.json(t); r.status != 200 || v["status"] != "failing" || !strings.Contains(v["lastError"].(string), errFakeRefused.Error()) {
			t.Fatalf("check of failing settings: %d %s", r.status, r.body)
		}

		// Sending the masked secret back keeps the stored one.
		v = e.putFake(map[string]any{"settings": map[string]any{"token": settings.Masked, "failCheck": false}})
		if v["status"] != "ok" || v["lastError"] != nil {
			t.Fatalf("PUT with the masked token: %v", v)
		}
		if m := sendTest(map[string]string{"address": number}); m.Token != "tok-second" {
			t.Fatalf("after saving the masked token the provider sends with %q", m.Token)
		}
		r = e.api("POST", "/api/v1/channels/fake/check", e.adminKey, nil)
		if v := r.json(t); r.status != 200 || v["status"] != "ok" || v["checkedAt"] == nil {
			t.Fatalf("check of good settings: %d %s", r.status, r.body)
		}

		// Disabled, the provider's channels stop sending.
		e.putFake(map[string]any{"settings": map[string]any{}, "enabled": false})
		wantError(t, "test on disabled provider", e.api("POST", "/api/v1/channels/fake/test", e.adminKey, map[string]string{"address": number}),
			http.StatusServiceUnavailable, "not configured")

		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/v1/channels/nope", nil},
			{"PUT", "/api/v1/channels/nope", map[string]any{"settings": map[string]any{"token": "t"}}},
			{"POST", "/api/v1/channels/nope/check", nil},
			{"POST", "/api/v1/channels/nope/test", map[string]any{"address": number}},
		} {
			wantError(t, c.method+" "+c.path, e.api(c.method, c.path, e.adminKey, c.body), http.StatusNotFound, "nope")
		}
	})
}

func TestContactMethodVerification(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		e.putFake(map[string]any{"settings": map[string]any{"token": "tok"}})
		ann, annKey := e.user("ann@example.com", e.team.ID, team.RoleResponder)
		_, bobKey := e.user("bob@example.com", e.team.ID, team.RoleAdmin)
		base := "/api/v1/users/" + ann.ID + "/contact-methods"
		sixDigits := regexp.MustCompile(`^[0-9]{6}$`)

		lastCode := func() string {
			t.Helper()
			m := e.lastSent()
			if m.Kind != notify.KindVerify || m.Channel != "sms" || m.Address != "+4915112345678" || m.UserID != ann.ID ||
				!sixDigits.MatchString(m.Code) || !strings.Contains(m.Text, m.Code) || len(m.Actions) != 0 {
				t.Fatalf("verification message %+v", m.Message)
			}
			return m.Code
		}

		r := e.api("POST", base, annKey, map[string]string{"channel": "sms", "address": "+49 151 1234 5678"})
		if r.status != http.StatusCreated {
			t.Fatalf("add: %d %s", r.status, r.body)
		}
		cm := r.json(t)
		if cm["verified"] != false || cm["verificationSent"] != true || cm["address"] != "+4915112345678" {
			t.Fatalf("added: %s", r.body)
		}
		id := cm["id"].(string)
		code := lastCode()
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		verify := func(key, c string) response {
			return e.api("POST", base+"/"+id+"/verify", key, map[string]string{"code": c})
		}
		verified := func() bool {
			t.Helper()
			c, err := e.teams.ContactMethod(context.Background(), ann.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			return c.Verified
		}

		wantError(t, "another user verifies", verify(bobKey, code), http.StatusForbidden)
		wantError(t, "another user asks for a code", e.api("POST", base+"/"+id+"/send-code", bobKey, nil), http.StatusForbidden)
		wantError(t, "test before verification", e.api("POST", base+"/"+id+"/test", annKey, nil), http.StatusConflict, "verify")
		wantError(t, "first wrong code", verify(annKey, wrong), http.StatusBadRequest, "4 tries left")
		wantError(t, "new code at once", e.api("POST", base+"/"+id+"/send-code", annKey, nil), http.StatusConflict, "wait")
		for left := 3; left >= 0; left-- {
			wantError(t, "wrong code", verify(annKey, wrong), http.StatusBadRequest, fmt.Sprintf("%d tries left", left))
		}
		wantError(t, "right code after five wrong ones", verify(annKey, code), http.StatusConflict, "too many")
		if verified() {
			t.Fatal("verified after five wrong codes")
		}

		e.clock.Advance(31 * time.Second)
		n := len(e.fake.Sent())
		r = e.api("POST", base+"/"+id+"/send-code", annKey, nil)
		if r.status != 200 || r.json(t)["verificationSent"] != true || len(e.fake.Sent()) != n+1 {
			t.Fatalf("send-code: %d %s", r.status, r.body)
		}
		code = lastCode()
		r = verify(annKey, " "+code+" ")
		if r.status != 200 || r.json(t)["verified"] != true || !verified() {
			t.Fatalf("right code: %d %s", r.status, r.body)
		}
		wantError(t, "send-code when verified", e.api("POST", base+"/"+id+"/send-code", annKey, nil), http.StatusConflict, "already verified")

		r = e.api("POST", base+"/"+id+"/test", annKey, nil)
		if r.status != 200 || r.json(t)["sent"] != true {
			t.Fatalf("test: %d %s", r.status, r.body)
		}
		if m := e.lastSent(); m.Kind != notify.KindTest || m.Address != "+4915112345678" || m.UserID != ann.ID {
			t.Fatalf("test message %+v", m.Message)
		}
		wantError(t, "another user tests", e.api("POST", base+"/"+id+"/test", bobKey, nil), http.StatusForbidden)

		// Instance administrators may store an address as verified; no code goes out.
		n = len(e.fake.Sent())
		wantError(t, "member stores as verified", e.api("POST", base, annKey, map[string]any{"channel": "email", "address": "ann@example.com", "verified": true}),
			http.StatusForbidden, "administrators")
		r = e.api("POST", base, e.adminKey, map[string]any{"channel": "email", "address": "Ann@Example.com", "verified": true})
		if r.status != http.StatusCreated || r.json(t)["verified"] != true || r.json(t)["verificationSent"] != nil {
			t.Fatalf("admin stores as verified: %d %s", r.status, r.body)
		}
		if len(e.fake.Sent()) != n {
			t.Fatal("a code was sent to an address stored as verified")
		}

		// A code that cannot be sent leaves the address, and says why.
		e.putFake(map[string]any{"settings": map[string]any{}, "enabled": false})
		r = e.api("POST", base, annKey, map[string]string{"channel": "sms", "address": "+4930123456"})
		if cm := r.json(t); r.status != http.StatusCreated || cm["verificationSent"] != nil || !strings.Contains(cm["verificationError"].(string), "not configured") {
			t.Fatalf("add with the provider off: %d %s", r.status, r.body)
		}
	})
}

func TestCallbacks(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		post := func(path, sig string, body string) response {
			h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
			if sig != "" {
				h["X-Fake-Signature"] = sig
			}
			return e.do("POST", path, strings.NewReader(body), h)
		}
		// Not configured: its channels are log stand-ins that take no callbacks.
		if r := post("/callbacks/fake/hook", "hook-secret", "x"); r.status != http.StatusNotFound {
			t.Fatalf("callback before configuring: %d %s", r.status, r.body)
		}
		e.putFake(map[string]any{"settings": map[string]any{"token": "hook-secret"}})

		if r := post("/callbacks/fake/hook", "hook-secret", "Body=hello"); r.status != http.StatusNoContent {
			t.Fatalf("signed callback: %d %s", r.status, r.body)
		}
		if h := e.fake.Hooks(); len(h) != 1 || h[0].Body != "Body=hello" || h[0].Token != "hook-secret" {
			t.Fatalf("hooks after a signed callback: %+v", h)
		}
		if r := post("/callbacks/fake/hook", "forged", "Body=evil"); r.status != http.StatusForbidden {
			t.Fatalf("badly signed callback: %d %s", r.status, r.body)
		}
		if r := post("/callbacks/fake/hook", "", "Body=evil"); r.status != http.StatusForbidden {
			t.Fatalf("unsigned callback: %d %s", r.status, r.body)
		}
		for _, p := range []string{"/callbacks/nope/hook", "/callbacks/fake/other", "/callbacks/fake/hook/more", "/callbacks/webhook/hook"} {
			if r := post(p, "hook-secret", "x"); r.status != http.StatusNotFound {
				t.Fatalf("POST %s: %d %s", p, r.status, r.body)
			}
		}
		if r := e.do("GET", "/callbacks/fake/hook", nil, nil); r.status != http.StatusMethodNotAllowed {
			t.Fatalf("GET callback: %d", r.status)
		}

		// Bodies are bounded at 256 KiB before the handler reads them.
		if r := post("/callbacks/fake/hook", "hook-secret", strings.Repeat("a", 256<<10)); r.status != http.StatusNoContent {
			t.Fatalf("256 KiB callback: %d %s", r.status, r.body)
		}
		if r := post("/callbacks/fake/hook", "hook-secret", strings.Repeat("a", 256<<10+1)); r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("callback over 256 KiB: %d", r.status)
		}
		if h := e.fake.Hooks(); len(h) != 2 {
			t.Fatalf("%d callbacks recorded, want 2", len(h))
		}

		// A new token applies at once.
		e.putFake(map[string]any{"settings": map[string]any{"token": "hook-secret-2"}})
		if r := post("/callbacks/fake/hook", "hook-secret", "old"); r.status != http.StatusForbidden {
			t.Fatalf("callback with the old token: %d", r.status)
		}
		if r := post("/callbacks/fake/hook", "hook-secret-2", "new"); r.status != http.StatusNoContent {
			t.Fatalf("callback with the new token: %d", r.status)
		}
	})
}

func TestVAPIDPublicKey(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		_, key := e.user("member@example.com", e.team.ID, team.RoleResponder)
		if r := e.api("GET", "/api/v1/push/vapid-public-key", "", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("without a key: %d", r.status)
		}
		get := func() string {
			t.Helper()
			r := e.api("GET", "/api/v1/push/vapid-public-key", key, nil)
			if r.status != 200 {
				t.Fatalf("vapid key: %d %s", r.status, r.body)
			}
			k, _ := r.json(t)["publicKey"].(string)
			return k
		}
		k := get()
		raw, err := base64.RawURLEncoding.DecodeString(k)
		if len(k) != 87 || err != nil || len(raw) != 65 || raw[0] != 4 {
			t.Fatalf("public key %q (%d chars, %d bytes, %v) is not an uncompressed P-256 point in base64url", k, len(k), len(raw), err)
		}
		if again := get(); again != k {
			t.Fatalf("the key changed between calls: %s then %s", k, again)
		}
	})
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d)+"/not-set-up", func(t *testing.T) {
			e := newEnvWith(t, d, httpapi.Config{}, func(_ *env, ch *httpapi.Channels) { ch.VAPIDPublicKey = nil })
			wantError(t, "no VAPID key", e.api("GET", "/api/v1/push/vapid-public-key", e.adminKey, nil), http.StatusServiceUnavailable, "push")
		})
	}
}

func decodeInto(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d: %v: %s", r.status, err, r.body)
	}
}
