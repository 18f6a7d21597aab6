package browser_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/team"
)

// shownNotification is what registration.getNotifications() tells of one.
type shownNotification struct {
	Title   string
	Body    string
	Tag     string
	Actions []string
	Outcome string
}

const listNotifications = `navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n => ({
	Title: n.title, Body: n.body, Tag: n.tag, Actions: n.actions.map(a => a.action), Outcome: (n.data && n.data.outcome) || ""})))`

// The push case: the service worker registers; a real alert is
// sent by the engine through the push channel to the fake push service;
// the payload it received is delivered to the service worker as the push
// service would; the notification shows with its buttons; its Acknowledge
// button acknowledges the alert without opening a window.
func TestPushNotificationAcknowledgesWithoutOpeningTheApp(t *testing.T) {
	s := startSite(t)
	ctx := context.Background()
	ann := s.member("ann@example.com", team.RoleResponder)
	if _, err := s.a.Teams.AddContactMethod(ctx, ann.ID, "push", s.push.Subscribe("ann"), "Chrome on Linux"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Duty.PunchIn(ctx, s.team.ID, ann.ID, false); err != nil {
		t.Fatal(err)
	}

	b := s.open(t)
	setNotifications(t, b, browser.PermissionSettingGranted)
	b.login("ann@example.com")
	// Signed-in pages register the worker (00-core.js).
	if scope := eval[string](b, `navigator.serviceWorker.ready.then(r => r.scope)`); scope != s.url+"/" {
		t.Fatalf("service worker scope %q", scope)
	}
	if p := eval[string](b, `Notification.permission`); p != "granted" {
		t.Fatalf("notification permission %q", p)
	}
	regID := registration(t, b)

	id := s.raise("Disk full on db-1", "high")
	s.until("the push to ann", func() bool { return len(s.push.Delivered("ann")) > 0 })
	pushed := s.push.Delivered("ann")[0]
	n, err := pushed.Notification()
	if err != nil || n.AlertID != id {
		t.Fatalf("pushed %+v %v, want alert %s", n, err, id)
	}
	if _, err := chromedp.Call(b.ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
		Origin: s.url, RegistrationID: regID, Data: string(pushed.Plaintext)}); err != nil {
		t.Fatalf("deliver the push message: %v", err)
	}
	waitNotifications(t, b, "the alert's notification", func(ns []shownNotification) bool {
		return len(ns) == 1 && ns[0].Title == "Disk full on db-1" && slices.Contains(ns[0].Actions, "acknowledge") &&
			ns[0].Tag == "lastmile-alert-"+id && strings.Contains(ns[0].Body, "details from the monitoring system")
	})

	pagesBefore := pageTargets(t, b)
	sw := workerTab(t, b, s.url+"/sw.js")
	clicked, err := chromedp.Run(sw, chromedp.Evaluate[int](`self.registration.getNotifications().then(ns => {
		const n = ns.find(n => n.actions.some(a => a.action === "acknowledge"));
		self.dispatchEvent(new NotificationEvent("notificationclick", {notification: n, action: "acknowledge"}));
		return ns.length;
	})`, chromedp.EvalAwaitPromise))
	if err != nil || clicked != 1 {
		t.Fatalf("click Acknowledge in the service worker: %d %v", clicked, err)
	}

	s.until("the alert acknowledged", func() bool {
		a, err := s.a.Alerts.Get(ctx, id)
		return err == nil && a.Status == alert.StatusAcknowledged
	})
	waitNotifications(t, b, "the confirmation", func(ns []shownNotification) bool {
		return len(ns) == 1 && ns[0].Title == "Acknowledged by you" && ns[0].Outcome == "ok"
	})
	if after := pageTargets(t, b); after != pagesBefore {
		t.Fatalf("acknowledging opened a window: %d pages, had %d", after, pagesBefore)
	}
	tl, err := s.a.Alerts.Timeline(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var acked bool
	for _, e := range tl {
		acked = acked || (e.Kind == alert.KindAcknowledged && e.Actor.ID == ann.ID)
	}
	if !acked {
		t.Fatalf("timeline has no acknowledgement by ann: %+v", tl)
	}

	// The link is single use: a second click says so in the notification.
	if _, err := chromedp.Run(sw, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`self.registration.showNotification("again", {tag: "again",
		data: {url: "/inbox", actions: [{action: "acknowledge", url: %q}]}, actions: [{action: "acknowledge", title: "Acknowledge"}]})
		.then(() => self.registration.getNotifications({tag: "again"}))
		.then(ns => { self.dispatchEvent(new NotificationEvent("notificationclick", {notification: ns[0], action: "acknowledge"})); })`,
		n.Actions[0].URL), chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	waitNotifications(t, b, "the error in the notification", func(ns []shownNotification) bool {
		return slices.ContainsFunc(ns, func(n shownNotification) bool {
			return n.Outcome == "error" && strings.HasPrefix(n.Title, "Could not acknowledge")
		})
	})

	// A click on the notification itself shows the alert in the open
	// window.
	if _, err := chromedp.Run(sw, chromedp.Evaluate[chromedp.Void](`self.registration.getNotifications({tag: "lastmile-alert-`+id+`"})
		.then(ns => { self.dispatchEvent(new NotificationEvent("notificationclick", {notification: ns[0]})); })`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	b.waitJS("the alert page", `location.pathname === "/alerts/`+id+`"`)
	if after := pageTargets(t, b); after != pagesBefore {
		t.Fatalf("opening the alert opened a window: %d pages, had %d", after, pagesBefore)
	}
}

// waitNotifications polls the notifications the service worker shows until
// ok accepts them.
func waitNotifications(t *testing.T, b *tab, what string, ok func([]shownNotification) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 3*time.Second)
		ns, err := chromedp.Run(ctx, chromedp.Evaluate[[]shownNotification](listNotifications, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok(ns) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s: notifications %+v (%v)", what, ns, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// registration is the id of the site's service worker registration, from
// the ServiceWorker domain's events.
func registration(t *testing.T, b *tab) serviceworker.RegistrationID {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	updates := chromedp.Events(ctx, serviceworker.WorkerRegistrationUpdated)
	if _, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("enable the ServiceWorker domain: %v", err)
	}
	for ev, err := range updates {
		if err != nil {
			t.Fatalf("no service worker registration for %s: %v", b.s.url, err)
		}
		for _, r := range ev.Registrations {
			if r.ScopeURL == b.s.url+"/" && !r.IsDeleted {
				return r.RegistrationID
			}
		}
	}
	panic("unreachable")
}

// workerTab attaches to the running service worker.
func workerTab(t *testing.T, b *tab, scriptURL string) context.Context {
	t.Helper()
	targets, err := chromedp.Targets(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range targets {
		if ti.Type == "service_worker" && ti.URL == scriptURL {
			ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(ti.TargetID))
			t.Cleanup(cancel)
			return ctx
		}
	}
	t.Fatalf("no running service worker %s among %d targets", scriptURL, len(targets))
	return nil
}

func pageTargets(t *testing.T, b *tab) int {
	t.Helper()
	targets, err := chromedp.Targets(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ti := range targets {
		if ti.Type == "page" {
			n++
		}
	}
	return n
}
