package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify/push/pushtest"
	"github.com/lastmile/lastmile/internal/team"
)

const chromeOnAndroid = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"

// pushCall posts a form as the profile's script does (Accept JSON, CSRF
// header) and decodes the answer.
func (c *client) pushCall(path string, form url.Values) (int, pushState, string) {
	c.h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	req.Header.Set("User-Agent", chromeOnAndroid)
	resp, err := c.http.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var st pushState
	json.Unmarshal(b, &st)
	var e struct{ Message string }
	json.Unmarshal(b, &e)
	return resp.StatusCode, st, e.Message
}

func (h *harness) pushMethods(u team.User) []team.ContactMethod {
	h.t.Helper()
	cms, err := h.teams.ContactMethods(context.Background(), u.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []team.ContactMethod
	for _, c := range cms {
		if c.Channel == "push" {
			out = append(out, c)
		}
	}
	return out
}

func TestPushSubscribeRefusesWhatIsNotASubscription(t *testing.T) {
	h := sqliteHarness(t)
	ann := h.member(h.team.ID, "ann@example.com", "responder")
	c := h.login("ann@example.com")
	b := pushtest.NewBrowser()
	for _, tc := range []struct{ name, sub, want string }{
		{"empty", "", "no push subscription"},
		{"not JSON", "{endpoint:", "not the JSON of a browser's PushSubscription"},
		{"plain http", b.Subscription("http://push.example.com/p/1"), "endpoint must be an https URL"},
		{"no keys", `{"endpoint":"https://push.example.com/p/1"}`, "keys.p256dh is missing"},
	} {
		status, _, msg := c.pushCall("/push/subscribe", url.Values{"subscription": {tc.sub}})
		if status != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %q, want 400 saying %q", tc.name, status, msg, tc.want)
		}
	}
	if n := len(h.pushMethods(ann)); n != 0 {
		t.Fatalf("%d push contact methods stored from refused subscriptions", n)
	}
}

func TestPushSubscribeOncePerDeviceAndUser(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		ann := h.member(h.team.ID, "ann@example.com", "responder")
		bob := h.member(h.team.ID, "bob@example.com", "responder")
		ps := pushtest.NewServer(t, pushtest.WithClock(h.clock))
		sub := ps.Subscribe("phone")
		c := h.login("ann@example.com")

		status, st, msg := c.pushCall("/push/subscribe", url.Values{"subscription": {sub}})
		if status != http.StatusOK || !st.Registered || st.Label != "Chrome on Android" || !strings.Contains(msg, "gets push alerts") {
			t.Fatalf("subscribe: %d %+v %q", status, st, msg)
		}
		// No rules anywhere: every contact method is used at once.
		if !st.InRules {
			t.Errorf("a new device is not in the default rules: %+v", st)
		}
		if status, st2, _ := c.pushCall("/push/subscribe", url.Values{"subscription": {sub}}); status != http.StatusOK || st2.ContactMethodID != st.ContactMethodID {
			t.Fatalf("subscribing again: %d %+v, want the same contact method %s", status, st2, st.ContactMethodID)
		}
		if cms := h.pushMethods(ann); len(cms) != 1 || endpointOf(cms[0].Address) != ps.Endpoint("phone") || !cms[0].Verified {
			t.Fatalf("ann's push contact methods %+v", cms)
		}

		// Bob signs in on the same browser: his own contact method, Ann's
		// stays, and his turning push off does not touch hers.
		cb := h.login("bob@example.com")
		if status, stb, _ := cb.pushCall("/push/subscribe", url.Values{"subscription": {sub}}); status != http.StatusOK || stb.ContactMethodID == st.ContactMethodID {
			t.Fatalf("bob subscribing the same endpoint: %d %+v", status, stb)
		}
		if status, _, _ := cb.pushCall("/push/unsubscribe", url.Values{"endpoint": {ps.Endpoint("phone")}}); status != http.StatusOK {
			t.Fatalf("bob unsubscribing: %d", status)
		}
		if len(h.pushMethods(bob)) != 0 || len(h.pushMethods(ann)) != 1 {
			t.Fatalf("after bob turned push off: bob %d, ann %d push contact methods", len(h.pushMethods(bob)), len(h.pushMethods(ann)))
		}

		// The same browser with new keys replaces the device in place and
		// keeps its rules.
		if _, err := h.teams.SetUserRules(ctx, ann.ID, []team.UserRule{{ContactMethodID: st.ContactMethodID}}); err != nil {
			t.Fatal(err)
		}
		renewed := pushtest.NewBrowser().Subscription(ps.Endpoint("phone"))
		status, st3, _ := c.pushCall("/push/subscribe", url.Values{"subscription": {renewed}})
		if status != http.StatusOK || !st3.InRules {
			t.Fatalf("new keys: %d %+v", status, st3)
		}
		cms := h.pushMethods(ann)
		if len(cms) != 1 || cms[0].ID != st3.ContactMethodID || !strings.Contains(renewed, strings.Split(strings.Split(cms[0].Address, `"p256dh":"`)[1], `"`)[0]) {
			t.Fatalf("after new keys ann has %+v", cms)
		}
		rules, err := h.teams.UserRules(ctx, ann.ID)
		if err != nil || len(rules) != 1 || rules[0].ContactMethodID != cms[0].ID {
			t.Fatalf("ann's rules after new keys: %+v %v", rules, err)
		}
	})
}

func TestPushSaysWhenNoRuleUsesIt(t *testing.T) {
	h := sqliteHarness(t)
	ann := h.member(h.team.ID, "ann@example.com", "responder")
	ctx := context.Background()
	if _, err := h.teams.SetTeamRules(ctx, h.team.ID, []team.TeamRule{{Channel: "sms"}}); err != nil {
		t.Fatal(err)
	}
	ps := pushtest.NewServer(t, pushtest.WithClock(h.clock))
	c := h.login("ann@example.com")
	_, st, _ := c.pushCall("/push/subscribe", url.Values{"subscription": {ps.Subscribe("phone")}})
	if !st.Registered || st.InRules || st.RulesURL != "/profile#rules" {
		t.Fatalf("team rules on SMS only: %+v, want registered, not in rules", st)
	}
	if _, err := h.teams.SetUserRules(ctx, ann.ID, []team.UserRule{{ContactMethodID: st.ContactMethodID, DelaySeconds: 0}}); err != nil {
		t.Fatal(err)
	}
	if _, st, _ = c.pushCall("/push/status", url.Values{"endpoint": {ps.Endpoint("phone")}}); !st.Registered || !st.InRules {
		t.Fatalf("with her own push rule: %+v", st)
	}
}

func TestPushTestReachesThisDevice(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", "responder")
	ps := pushtest.NewServer(t, pushtest.WithClock(h.clock))
	c := h.login("ann@example.com")
	if status, _, msg := c.pushCall("/push/test", url.Values{"endpoint": {ps.Endpoint("phone")}}); status != http.StatusNotFound || !strings.Contains(msg, "turn push on first") {
		t.Fatalf("test before subscribing: %d %q", status, msg)
	}
	c.pushCall("/push/subscribe", url.Values{"subscription": {ps.Subscribe("phone")}})
	status, _, msg := c.pushCall("/push/test", url.Values{"endpoint": {ps.Endpoint("phone")}})
	if status != http.StatusOK || !strings.Contains(msg, "Test sent") {
		t.Fatalf("test: %d %q", status, msg)
	}
	got := ps.Delivered("phone")
	if len(got) != 1 {
		t.Fatalf("%d pushes delivered, want 1 (all: %+v)", len(got), ps.Pushes())
	}
	n, err := got[0].Notification()
	if err != nil || n.Kind != "test" || n.Title != "lastmile test notification" || !strings.Contains(n.Body, "this device") {
		t.Fatalf("test notification %+v %v", n, err)
	}

	// A push service that refuses says so in words.
	ps.FailNext("phone", http.StatusGone, "")
	if status, _, msg := c.pushCall("/push/test", url.Values{"endpoint": {ps.Endpoint("phone")}}); status < 400 || msg == "" {
		t.Fatalf("test to a gone subscription: %d %q", status, msg)
	}
}

func TestPushUnsubscribeRemovesTheDevice(t *testing.T) {
	h := sqliteHarness(t)
	ann := h.member(h.team.ID, "ann@example.com", "responder")
	ps := pushtest.NewServer(t, pushtest.WithClock(h.clock))
	c := h.login("ann@example.com")
	c.pushCall("/push/subscribe", url.Values{"subscription": {ps.Subscribe("phone")}})
	if _, st, _ := c.pushCall("/push/status", url.Values{"endpoint": {ps.Endpoint("phone")}}); !st.Registered {
		t.Fatalf("status after subscribing: %+v", st)
	}
	status, _, msg := c.pushCall("/push/unsubscribe", url.Values{"endpoint": {ps.Endpoint("phone")}})
	if status != http.StatusOK || msg != "Push is off for this device." {
		t.Fatalf("unsubscribe: %d %q", status, msg)
	}
	if n := len(h.pushMethods(ann)); n != 0 {
		t.Fatalf("%d push contact methods left", n)
	}
	if _, st, _ := c.pushCall("/push/status", url.Values{"endpoint": {ps.Endpoint("phone")}}); st.Registered {
		t.Fatalf("status after unsubscribing: %+v", st)
	}
	if status, _, msg := c.pushCall("/push/unsubscribe", url.Values{"endpoint": {ps.Endpoint("phone")}}); status != http.StatusOK || !strings.Contains(msg, "was not getting") {
		t.Fatalf("unsubscribing twice: %d %q", status, msg)
	}
}

func TestPushRoutesNeedASignedInUserAndTheCSRFToken(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", "responder")
	ps := pushtest.NewServer(t, pushtest.WithClock(h.clock))
	sub := ps.Subscribe("phone")
	for _, path := range []string{"/push/subscribe", "/push/status", "/push/test", "/push/unsubscribe"} {
		form := url.Values{"subscription": {sub}, "endpoint": {ps.Endpoint("phone")}}
		if status, _, _ := h.anon().pushCall(path, form); status != http.StatusUnauthorized {
			t.Errorf("%s signed out: %d, want 401", path, status)
		}
		c := h.login("ann@example.com")
		c.csrf = "forged"
		if status, _, _ := c.pushCall(path, form); status != http.StatusForbidden {
			t.Errorf("%s with a forged CSRF token: %d, want 403", path, status)
		}
	}
	if len(ps.Pushes()) != 0 {
		t.Fatalf("a refused request sent a push")
	}
}

func TestPushSubscribeWithoutScriptGoesBackToTheProfile(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", "responder")
	ps := pushtest.NewServer(t, pushtest.WithClock(h.clock))
	c := h.login("ann@example.com")
	p := c.post("/push/subscribe", url.Values{"subscription": {ps.Subscribe("phone")}})
	if p.status != http.StatusSeeOther || p.location != "/profile#push-device" {
		t.Fatalf("form post: %d %q", p.status, p.location)
	}
}

func TestDeviceLabel(t *testing.T) {
	for ua, want := range map[string]string{
		chromeOnAndroid: "Chrome on Android",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1": "Safari on iPhone",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0":           "Edge on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0":                                                     "Firefox on Mac",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36":                           "Chrome on Linux",
		"curl/8.0": "Browser",
	} {
		if got := deviceLabel(ua); got != want {
			t.Errorf("deviceLabel(%q) = %q, want %q", ua, got, want)
		}
	}
}
