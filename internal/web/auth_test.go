package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSignInAndOut(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		h.member(h.team.ID, "ann@example.com", "responder")
		anon := h.anon()
		if p := anon.get("/inbox"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login?next=") {
			t.Fatalf("signed-out inbox: %d %q, want a redirect to sign in", p.status, p.location)
		}
		if p := anon.post("/login", url.Values{"email": {"ann@example.com"}, "password": {"wrong password!"}}); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Wrong email or password") {
			t.Fatalf("wrong password: %d", p.status)
		}
		c := h.login("ann@example.com")
		if p := c.get("/"); p.location != "/inbox" {
			t.Fatalf("home when signed in goes to %q, want /inbox", p.location)
		}
		if p := c.post("/logout", nil); p.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", p.status)
		}
		if p := c.get("/inbox"); p.status != http.StatusSeeOther {
			t.Fatalf("after logout the inbox answers %d, want a redirect", p.status)
		}
	})
}

func TestLogoutEverywhereEndsOtherSessions(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", "responder")
	phone, laptop := h.login("ann@example.com"), h.login("ann@example.com")
	if p := laptop.post("/logout-everywhere", nil); p.status != http.StatusSeeOther {
		t.Fatalf("logout everywhere: %d %s", p.status, p.body)
	}
	if p := phone.get("/profile"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login") {
		t.Fatalf("the phone's session survived logout everywhere: %d %q", p.status, p.location)
	}
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", "responder")
	c := h.login("ann@example.com")
	if p := c.post("/logout", url.Values{"_csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Fatalf("a forged CSRF token answered %d, want 403", p.status)
	}
	if p := c.post("/logout", url.Values{"_csrf": {""}}); p.status != http.StatusForbidden {
		t.Fatalf("a missing CSRF token answered %d, want 403", p.status)
	}
}

func TestCrossSiteFormPostIsRefused(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", "responder")
	c := h.login("ann@example.com")
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/logout", strings.NewReader("_csrf="+url.QueryEscape(c.csrf)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := c.do(req); p.status != http.StatusForbidden {
		t.Fatalf("a cross-site post answered %d, want 403", p.status)
	}
}

func TestSignInRedirectStaysOnSite(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", "responder")
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		p := h.anon().post("/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}, "next": {next}})
		if p.location != "/" {
			t.Errorf("next=%q sent the browser to %q, want /", next, p.location)
		}
	}
}

func TestPasswordGuessingIsThrottled(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", "responder")
	for range throttleMax {
		h.anon().post("/login", url.Values{"email": {"ann@example.com"}, "password": {"not the password"}})
	}
	if p := h.anon().post("/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}}); p.status != http.StatusTooManyRequests {
		t.Fatalf("after %d failures the right password answered %d, want 429", throttleMax, p.status)
	}
	h.clock.Advance(throttleWindow)
	if p := h.anon().post("/login", url.Values{"email": {"ann@example.com"}, "password": {testPassword}}); p.status != http.StatusSeeOther {
		t.Fatalf("after the window the right password answered %d", p.status)
	}
}

func TestPagesCarrySecurityHeaders(t *testing.T) {
	h := sqliteHarness(t)
	p := h.anon().get("/login")
	for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
		if got := p.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("content security policy %q allows inline script or lacks script-src", csp)
	}
}

func TestAssetsAreBundledAndCacheable(t *testing.T) {
	h := sqliteHarness(t)
	url := h.web.assetURL("/assets/app.css")
	if !strings.Contains(url, "?v=") {
		t.Fatalf("asset URL %q has no content hash", url)
	}
	p := h.anon().get(url)
	if p.status != http.StatusOK || !strings.Contains(p.header.Get("Cache-Control"), "immutable") || !strings.Contains(p.body, "00-base.css") {
		t.Fatalf("app.css: %d %q", p.status, p.header.Get("Cache-Control"))
	}
	if p := h.anon().get("/sw.js"); p.status != http.StatusOK || p.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("sw.js: %d %q; it must be revalidated so updates reach browsers", p.status, p.header.Get("Cache-Control"))
	}
}
