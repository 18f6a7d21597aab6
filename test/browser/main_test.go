// Package browser_test drives the real web app in headless Chromium (Debian's
// chromium, through the DevTools protocol with chromedp): sign in, live
// inbox, acknowledge from a push notification's button, duty, role
// boundaries, and screenshots of the main pages at phone and desktop width.
//
// Chromium is found at LASTMILE_TEST_CHROMIUM, /usr/bin/chromium or on the
// PATH; without it the tests skip, unless LASTMILE_TEST_REQUIRE_ALL=1.
// LASTMILE_SCREENSHOTS_DIR keeps the screenshots (docs/screenshots).
package browser_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// chrome is the one Chromium process every test opens its tabs in: starting
// a browser takes longer than most tests.
var chrome struct {
	ctx     context.Context // the browser's; tabs are made from it
	missing string          // why there is no browser
	err     error           // the browser is there but does not start
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	path := findChromium()
	if path == "" {
		chrome.missing = "no Chromium: install Debian's chromium or set LASTMILE_TEST_CHROMIUM to its path"
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "lastmile-chromium-")
	if err != nil {
		chrome.err = err
		return m.Run()
	}
	defer os.RemoveAll(dir)
	// The machine may have no network: nothing the browser does on its own
	// (updates, sync, QUIC probes) may wait on it.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		chrome.err = fmt.Errorf("start Chromium at %s: %w", path, err)
		return m.Run()
	}
	chrome.ctx = bctx
	return m.Run()
}

func findChromium() string {
	if p := os.Getenv("LASTMILE_TEST_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needBrowser skips (or, with LASTMILE_TEST_REQUIRE_ALL=1, fails) a test
// when there is no Chromium.
func needBrowser(t *testing.T) {
	t.Helper()
	switch {
	case chrome.err != nil:
		t.Fatal(chrome.err)
	case chrome.ctx == nil && os.Getenv("LASTMILE_TEST_REQUIRE_ALL") == "1":
		t.Fatalf("LASTMILE_TEST_REQUIRE_ALL=1 but %s", chrome.missing)
	case chrome.ctx == nil:
		t.Skip(chrome.missing)
	}
}
