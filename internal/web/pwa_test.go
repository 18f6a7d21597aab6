package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestManifestDescribesTheInstallableApp(t *testing.T) {
	h := sqliteHarness(t)
	p := h.anon().get("/manifest.webmanifest")
	if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/manifest+json" {
		t.Fatalf("manifest: %d %q", p.status, p.header.Get("Content-Type"))
	}
	var m struct {
		ID, Name, ShortName, StartURL, Scope, Display, ThemeColor, BackgroundColor string
		Icons                                                                      []struct{ Src, Sizes, Type, Purpose string }
	}
	// The manifest's keys are snake_case.
	body := strings.NewReplacer(`"short_name"`, `"ShortName"`, `"start_url"`, `"StartURL"`, `"theme_color"`, `"ThemeColor"`,
		`"background_color"`, `"BackgroundColor"`).Replace(p.body)
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("manifest is not JSON: %v", err)
	}
	if m.Name != "lastmile" || m.ShortName == "" || m.StartURL != "/inbox" || m.Scope != "/" || m.Display != "standalone" || m.ID == "" {
		t.Fatalf("manifest %+v", m)
	}
	// The colours are the design system's (00-base.css).
	if m.ThemeColor != "#0f6cbd" || m.BackgroundColor != "#f5f7fa" {
		t.Errorf("colours %s %s", m.ThemeColor, m.BackgroundColor)
	}
	want := map[string]bool{"any image/svg+xml any": false, "192x192 image/png any": false, "512x512 image/png any": false, "512x512 image/png maskable": false}
	for _, ic := range m.Icons {
		want[ic.Sizes+" "+ic.Type+" "+ic.Purpose] = true
		got := h.anon().get(ic.Src)
		if got.status != http.StatusOK || got.header.Get("Content-Type") != ic.Type {
			t.Errorf("icon %s: %d %q", ic.Src, got.status, got.header.Get("Content-Type"))
		}
		if ic.Type == "image/png" && !strings.HasPrefix(got.body, "\x89PNG") {
			t.Errorf("icon %s is not a PNG", ic.Src)
		}
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("manifest lacks the icon %s", k)
		}
	}
}

func TestServiceWorkerIsServedFromTheRoot(t *testing.T) {
	h := sqliteHarness(t)
	p := h.anon().get("/sw.js")
	if p.status != http.StatusOK || p.header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("sw.js: %d %q", p.status, p.header.Get("Content-Type"))
	}
	if p.header.Get("Service-Worker-Allowed") != "/" || p.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("sw.js headers %v", p.header)
	}
	for _, want := range []string{`addEventListener("push"`, `addEventListener("notificationclick"`, "showNotification", "/pwa/shell.json", `"/offline"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("sw.js lacks %s", want)
		}
	}
}

func TestOfflinePageHoldsNothingPrivate(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", "responder")
	// The service worker fetches it with the cookie of whoever is signed
	// in, and keeps it.
	for name, c := range map[string]*client{"anonymous": h.anon(), "signed in": h.login("ann@example.com")} {
		p := c.get("/offline")
		if p.status != http.StatusOK || !strings.Contains(p.body, "You are offline") || !strings.Contains(p.body, `href=""`) {
			t.Fatalf("%s: offline page %d: %s", name, p.status, p.body)
		}
		for _, private := range []string{"csrf-token", "ann@example.com", "Sign out", "_csrf"} {
			if strings.Contains(p.body, private) {
				t.Errorf("%s: offline page holds %q", name, private)
			}
		}
	}
}

func TestShellListNamesTheHashedAssets(t *testing.T) {
	h := sqliteHarness(t)
	p := h.anon().get("/pwa/shell.json")
	var sh shell
	if err := json.Unmarshal([]byte(p.body), &sh); err != nil || p.status != http.StatusOK {
		t.Fatalf("shell list: %d %v: %s", p.status, err, p.body)
	}
	if sh.Version == "" || len(sh.URLs) < 3 || sh.URLs[0] != "/offline" {
		t.Fatalf("shell %+v", sh)
	}
	for _, want := range []string{h.web.assetURL("/assets/app.css"), h.web.assetURL("/assets/app.js")} {
		if !strings.Contains(want, "?v=") || !strings.Contains(strings.Join(sh.URLs, " "), want) {
			t.Errorf("shell lacks %s: %v", want, sh.URLs)
		}
	}
	for _, u := range sh.URLs {
		if got := h.anon().get(u); got.status != http.StatusOK {
			t.Errorf("shell URL %s answers %d", u, got.status)
		}
	}
	if again := h.anon().get("/pwa/shell.json"); !strings.Contains(again.body, sh.Version) {
		t.Errorf("the shell version changes between requests")
	}
}
