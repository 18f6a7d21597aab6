package browser_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify/push/pushtest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

// password is every seeded user's.
const password = "correct horse battery"

// site is the whole application, as `lastmile serve` runs it, on a fresh
// SQLite database, with the push channel's messages going to a fake push
// service. Its base URL is http://127.0.0.1:port, a secure context, so
// service workers and notifications work without a certificate.
type site struct {
	t      *testing.T
	a      *app.App
	url    string
	push   *pushtest.Server
	team   team.Team
	secret string
}

func startSite(t *testing.T) *site {
	t.Helper()
	ctx := context.Background()
	cfg := app.Config{Listen: "127.0.0.1:0", DatabaseURL: storetest.URL(t, store.SQLite), LogLevel: "info", LogFormat: "text",
		SQLiteSynchronous: "normal", PostgresSynchronousCommit: "on", DBMaxConns: 4, MaxBodyBytes: 25 << 20,
		Migrate: true, ShutdownTimeout: 10 * time.Second, EncryptionKey: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		// The fake push service listens on loopback, which the guard
		// against private addresses would refuse.
		AllowPrivateWebhooks: true,
	}
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Stop(ctx)
	})
	s := &site{t: t, a: a, url: a.BaseURL(), push: pushtest.NewServer(t)}
	if s.team, s.secret, err = a.Teams.CreateTeam(ctx, "Ops", ""); err != nil {
		t.Fatal(err)
	}
	return s
}

// user adds a user who signs in with password.
func (s *site) user(email string, admin bool) team.User {
	s.t.Helper()
	name := strings.ToUpper(email[:1]) + email[1:strings.Index(email, "@")]
	u, err := s.a.Teams.CreateUser(context.Background(), team.NewUser{Email: email, Name: name, IsAdmin: admin, Password: password})
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

// member adds a user to the team Ops with the role.
func (s *site) member(email string, role team.Role) team.User {
	s.t.Helper()
	u := s.user(email, false)
	if _, err := s.a.Teams.AddMember(context.Background(), s.team.ID, u.ID, role); err != nil {
		s.t.Fatal(err)
	}
	return u
}

// raise sends an alert through the team's SIGNL4-compatible webhook and
// returns its id. Extra fields become the alert's parameters.
func (s *site) raise(title, severity string, extra ...string) string {
	s.t.Helper()
	fields := map[string]string{"Title": title, "Message": title + ": details from the monitoring system", "X-S4-Severity": severity}
	for i := 0; i+1 < len(extra); i += 2 {
		fields[extra[i]] = extra[i+1]
	}
	body, _ := json.Marshal(fields)
	resp, err := http.Post(s.url+"/webhook/"+s.secret, "application/json", strings.NewReader(string(body)))
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	return resp.Header.Get("X-Lastmile-Alert-Id")
}

// until polls cond until it holds, waking the engine meanwhile.
func (s *site) until(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("waited in vain for %s", what)
		}
		s.a.Engine.Wake()
		time.Sleep(20 * time.Millisecond)
	}
}

// tab is a browser tab on the site.
type tab struct {
	t   *testing.T
	s   *site
	ctx context.Context
}

// open opens a tab with no cookies (cookies ignore ports, so another test's
// site on 127.0.0.1 could otherwise leave its own).
func (s *site) open(t *testing.T) *tab {
	t.Helper()
	needBrowser(t)
	ctx, cancel := chromedp.NewContext(chrome.ctx)
	t.Cleanup(cancel)
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	// Bounds every step after the tab exists: a test waiting on the page
	// fails in time rather than hanging the suite.
	ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
	t.Cleanup(cancelTimeout)
	return &tab{t: t, s: s, ctx: ctx}
}

// do runs steps and fails the test on error.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v (page %s)", what, err, b.location())
	}
}

func (b *tab) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	return loc
}

// goTo loads a page of the site.
func (b *tab) goTo(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.s.url+path))
}

// eval runs JavaScript in the page, waiting for a promise, and decodes the
// result into T.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitJS polls a JavaScript condition in the page until it is true. It
// polls from Go, so a navigation in between does not end the wait.
func (b *tab) waitJS(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.t.Fatalf("waited in vain for %s (%s): last error %v\npage %s:\n%s", what, cond, last, b.location(), b.bodyText())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitText waits until the page's text contains want.
func (b *tab) waitText(want string) {
	b.t.Helper()
	q, _ := json.Marshal(want)
	b.waitJS(fmt.Sprintf("%q on the page", want), fmt.Sprintf("document.body && document.body.innerText.includes(%s)", q))
}

func (b *tab) bodyText() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

// login signs in with the password form.
func (b *tab) login(email string) {
	b.t.Helper()
	b.goTo("/login")
	b.do("sign in as "+email,
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type="submit"]`)),
	)
	b.waitJS("the page after signing in", `location.pathname !== "/login" && document.readyState === "complete"`)
}

// clickButton clicks the button whose text is label.
func (b *tab) clickButton(label string) {
	b.t.Helper()
	b.do("click "+label, chromedp.Click(chromedp.Search(fmt.Sprintf(`//button[normalize-space()=%q]`, label)), chromedp.NodeVisible))
}
