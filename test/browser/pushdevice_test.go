package browser_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/lastmile/lastmile/internal/team"
)

// fakePushManager stands in for the browser's push service, which a
// machine without network cannot reach: subscribe() answers with a
// subscription at the fake push service (%s) and remembers the server key
// it was asked for. Everything else (the page's script, the routes, the
// channel, the fake push service) is real.
const fakePushManager = `(() => {
	const sub = %s;
	const fake = {endpoint: sub.endpoint, options: {applicationServerKey: null}, toJSON: () => sub,
		unsubscribe: () => { window.testUnsubscribed = true; window.testCurrent = null; return Promise.resolve(true); }};
	PushManager.prototype.subscribe = function (opts) {
		window.testServerKey = btoa(String.fromCharCode(...new Uint8Array(opts.applicationServerKey)))
			.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
		window.testCurrent = fake;
		return Promise.resolve(fake);
	};
	PushManager.prototype.getSubscription = function () { return Promise.resolve(window.testCurrent || null); };
})()`

// The profile's "Push on this device": turn on (permission, server key,
// subscription stored as a push contact method), send a test that reaches
// the push service, turn off; and the hint when no rule uses push.
func TestPushOnThisDeviceFromTheProfile(t *testing.T) {
	s := startSite(t)
	ctx := context.Background()
	ann := s.member("ann@example.com", team.RoleResponder)
	if _, err := s.a.Teams.SetTeamRules(ctx, s.team.ID, []team.TeamRule{{Channel: "sms"}}); err != nil {
		t.Fatal(err)
	}
	b := s.open(t)
	setNotifications(t, b, browser.PermissionSettingGranted)
	b.login("ann@example.com")
	b.goTo("/profile")
	b.waitJS("the push section", `!!document.querySelector('#push-device .push-state[data-state="off"]')`)

	sub, _ := json.Marshal(json.RawMessage(s.push.Subscribe("ann")))
	b.do("stand in for the push service", chromedp.Evaluate[chromedp.Void](strings.Replace(fakePushManager, "%s", string(sub), 1)))
	b.clickButton("Turn on push for this device")
	b.waitJS("push on", `!!document.querySelector('#push-device .push-state[data-state="on"]')`)
	if state := eval[string](b, `document.querySelector("#push-device").innerText`); !strings.Contains(state, "This device gets push alerts (Chrome on Linux).") ||
		!strings.Contains(state, "No notification rule sends alerts to push yet") {
		t.Fatalf("push section after turning on:\n%s", state)
	}
	if href := eval[string](b, `document.querySelector("#push-device .push-hint a").getAttribute("href")`); href != "/profile#rules" {
		t.Errorf("the rules link goes to %q", href)
	}
	key := eval[string](b, `fetch("/api/v1/push/vapid-public-key", {headers: {Accept: "application/json"}}).then(r => r.json()).then(j => j.publicKey)`)
	if got := eval[string](b, `window.testServerKey`); got == "" || got != strings.TrimRight(key, "=") {
		t.Errorf("subscribed with server key %q, the server's is %q", got, key)
	}
	cms, err := s.a.Teams.ContactMethods(ctx, ann.ID)
	if err != nil || len(cms) != 1 || cms[0].Channel != "push" || !strings.Contains(cms[0].Address, s.push.Endpoint("ann")) {
		t.Fatalf("ann's contact methods %+v %v", cms, err)
	}

	b.clickButton("Send test")
	b.waitText("Test sent")
	if got := s.push.Delivered("ann"); len(got) != 1 {
		t.Fatalf("%d pushes reached the push service, want the test", len(got))
	} else if n, err := got[0].Notification(); err != nil || n.Kind != "test" {
		t.Fatalf("test push %+v %v", n, err)
	}

	b.clickButton("Turn off")
	b.waitJS("push off", `!!document.querySelector('#push-device .push-state[data-state="off"]')`)
	b.waitText("Push is off for this device.")
	if !eval[bool](b, `window.testUnsubscribed === true`) {
		t.Error("the browser's subscription was kept")
	}
	if cms, _ := s.a.Teams.ContactMethods(ctx, ann.ID); len(cms) != 0 {
		t.Fatalf("contact methods left after turning off: %+v", cms)
	}

	// Blocked notifications: the page says how to allow them again.
	setNotifications(t, b, browser.PermissionSettingDenied)
	b.goTo("/profile")
	b.waitJS("the blocked state", `!!document.querySelector('#push-device .push-state[data-state="blocked"]')`)
	b.waitText("Notifications are blocked for lastmile in this browser.")
}

func setNotifications(t *testing.T, b *tab, setting browser.PermissionSetting) {
	t.Helper()
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: setting, Origin: b.s.url}); err != nil {
		t.Fatalf("set the notifications permission: %v", err)
	}
}
