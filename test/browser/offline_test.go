package browser_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lastmile/lastmile/internal/team"
)

// With the network gone, a page opens as the service worker's cached
// offline page; the signed-in page itself was never cached.
func TestOfflineShell(t *testing.T) {
	s := startSite(t)
	s.member("ann@example.com", team.RoleResponder)
	b := s.open(t)
	b.login("ann@example.com")
	b.waitJS("the service worker to control the page", `navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)`)
	b.waitJS("the offline shell cached", `caches.keys().then(ks => ks.some(k => k.startsWith("lastmile-shell-")))`)
	cached := eval[[]string](b, `caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))
		.then(all => all.flat().map(r => new URL(r.url).pathname))`)
	if !strings.Contains(strings.Join(cached, " "), "/offline") || strings.Contains(strings.Join(cached, " "), "/inbox") {
		t.Fatalf("cached %v: want the offline page and assets, never a signed-in page", cached)
	}

	sw := workerTab(t, b, s.url+"/sw.js")
	offline(t, b.ctx, sw, true)
	b.do("open the inbox offline", chromedp.Navigate(s.url+"/inbox"))
	b.waitText("You are offline")
	// The styles come from the cache too.
	if bg := eval[string](b, `getComputedStyle(document.querySelector(".card")).borderRadius`); bg != "10px" {
		t.Errorf("the offline page is unstyled (card radius %q)", bg)
	}

	offline(t, b.ctx, sw, false)
	b.do("try again", chromedp.Click(chromedp.Search(`//a[normalize-space()="Try again"]`), chromedp.NodeVisible))
	b.waitJS("the inbox again", `location.pathname === "/inbox" && !!document.getElementById("inbox-live")`)
}

// offline cuts (or restores) the network of the page and of its service
// worker, as the browser does when the device loses its connection.
func offline(t *testing.T, page, worker context.Context, off bool) {
	t.Helper()
	for _, ctx := range []context.Context{page, worker} {
		rules := []*network.Conditions{}
		if off {
			rules = append(rules, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		}
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: new(off), MatchedNetworkConditions: rules}); err != nil {
			t.Fatalf("network offline=%v: %v", off, err)
		}
	}
}
