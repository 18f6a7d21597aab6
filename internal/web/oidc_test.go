package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/web/session"
)

const (
	ssoTenant   = "5b1e3c1a-0c4e-4f5e-9a55-1a2b3c4d5e6f"
	ssoClient   = "lastmile-web"
	ssoSecret   = "sso-secret"
	ssoBase     = "http://lastmile.test"
	ssoRedirect = ssoBase + "/login/oidc/callback"
)

// sso is the web app with single sign-on against the Entra ID emulator,
// served over HTTPS and trusted through the CA file, as in production.
type sso struct {
	h      *harness
	emu    *azureemu.Emulator
	issuer string
}

func newSSO(t *testing.T, d store.Dialect, edit ...func(*OIDCConfig)) *sso {
	t.Helper()
	o := &sso{}
	o.h = newHarness(t, d, func(h *harness, cfg *Config) {
		o.emu = azureemu.New(azureemu.Options{Clock: h.clock})
		if err := o.emu.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(o.emu.Close)
		if _, err := o.emu.AddApp(ssoTenant, azureemu.App{ClientID: ssoClient, Secret: ssoSecret, DisplayName: "lastmile"}); err != nil {
			t.Fatal(err)
		}
		if err := o.emu.AddRedirectURIs(ssoTenant, ssoClient, ssoRedirect); err != nil {
			t.Fatal(err)
		}
		ca := filepath.Join(t.TempDir(), "entra-ca.pem")
		if err := os.WriteFile(ca, o.emu.CACertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		o.issuer = o.emu.URL() + "/" + ssoTenant + "/v2.0"
		oc := OIDCConfig{Issuer: o.issuer, ClientID: ssoClient, ClientSecret: ssoSecret, Name: "Microsoft", CAFile: ca}
		for _, e := range edit {
			e(&oc)
		}
		cfg.BaseURL, cfg.OIDC = ssoBase, &oc
	})
	return o
}

// idpUser adds a user at the identity provider and signs them in there.
func (o *sso) idpUser(t *testing.T, u azureemu.User) azureemu.User {
	t.Helper()
	u, err := o.emu.AddUser(ssoTenant, u)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.emu.SignInAs(ssoTenant, u.ObjectID); err != nil {
		t.Fatal(err)
	}
	return u
}

// browser reaches the web app as http://lastmile.test (its base URL, so
// the provider's redirects come back to it) and the emulator over HTTPS.
type browser struct {
	t *testing.T
	o *sso
	c *http.Client
}

func (o *sso) browser(t *testing.T, follow bool) *browser {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(o.emu.CACertPEM())
	web := o.h.srv.Listener.Addr().String()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == "lastmile.test:80" {
				addr = web
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: tr}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return &browser{t: t, o: o, c: c}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, string(body)
}

// get fetches a URL; a path is on the web app.
func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = ssoBase + u
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// session is the web app session the browser holds, if any.
func (b *browser) session() (session.Session, bool) {
	b.t.Helper()
	u, _ := url.Parse(ssoBase)
	for _, ck := range b.c.Jar.Cookies(u) {
		if ck.Name == b.o.h.sessions.CookieName() {
			ss, err := b.o.h.sessions.Lookup(context.Background(), ck.Value)
			return ss, err == nil
		}
	}
	return session.Session{}, false
}

// landed checks where a followed sign-in ended.
func landed(t *testing.T, resp *http.Response, path string) {
	t.Helper()
	if got := resp.Request.URL; got.Host != "lastmile.test" || got.Path != path {
		t.Fatalf("sign-in ended at %s, want %s", got, path)
	}
}

func TestOIDCSignIn(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			o := newSSO(t, d)
			ctx := context.Background()
			ann := o.h.member(o.h.team.ID, "ann@contoso.com", "responder")
			idp := o.idpUser(t, azureemu.User{Email: "ann@contoso.com", Name: "Ann Example"})

			if _, body := o.browser(t, true).get("/login?next=/duty"); !strings.Contains(body, "Sign in with Microsoft") || !strings.Contains(body, `href="/login/oidc?next=%2fduty"`) {
				t.Fatalf("the sign-in page offers no single sign-on button: %s", body)
			}
			b := o.browser(t, true)
			resp, _ := b.get("/login/oidc")
			landed(t, resp, "/inbox")
			if ss, ok := b.session(); !ok || ss.UserID != ann.ID || ss.Method != "oidc" {
				t.Fatalf("after single sign-on: session %+v (%v), want Ann's, method oidc", ss, ok)
			}
			var userID, email string
			if err := o.h.db.QueryRow(ctx, `SELECT user_id, email FROM oidc_identities WHERE issuer = ?`, o.issuer).Scan(&userID, &email); err != nil {
				t.Fatalf("identity not recorded: %v", err)
			}
			if userID != ann.ID || email != "ann@contoso.com" {
				t.Fatalf("identity recorded for %s (%s), want Ann", userID, email)
			}

			// Ann's address changes at the provider: her subject still finds her.
			o.idpUser(t, azureemu.User{ObjectID: idp.ObjectID, Email: "ann.b@contoso.com", Name: "Ann B"})
			b = o.browser(t, true)
			resp, _ = b.get("/login/oidc?next=/profile")
			landed(t, resp, "/profile")
			if ss, ok := b.session(); !ok || ss.UserID != ann.ID {
				t.Fatalf("after the address changed: session %+v (%v), want Ann's", ss, ok)
			}
			var n int
			if err := o.h.db.QueryRow(ctx, `SELECT COUNT(*) FROM oidc_identities WHERE user_id = ?`, ann.ID).Scan(&n); err != nil || n != 1 {
				t.Fatalf("Ann has %d identities (%v), want 1", n, err)
			}

			// Someone else now holds Ann's old address there: not let in as Ann.
			o.idpUser(t, azureemu.User{Email: "ann@contoso.com", Name: "Another Ann"})
			b = o.browser(t, true)
			resp, body := b.get("/login/oidc")
			landed(t, resp, "/login")
			if !strings.Contains(body, "already linked to a different account at Microsoft") {
				t.Errorf("a second subject claiming Ann's address: %s", body)
			}
			if _, ok := b.session(); ok {
				t.Error("a second subject claiming Ann's address was signed in")
			}

			// Nobody with that address in lastmile.
			o.idpUser(t, azureemu.User{Email: "bob@contoso.com"})
			b = o.browser(t, true)
			resp, body = b.get("/login/oidc")
			landed(t, resp, "/login")
			if !strings.Contains(body, "No lastmile account for bob@contoso.com. Ask an administrator to invite you.") {
				t.Errorf("unknown user: %s", body)
			}
			if _, ok := b.session(); ok {
				t.Error("an unknown user was signed in")
			}
		})
	}
}

// started begins a sign-in without following redirects and returns the
// callback URL the provider sends the browser to.
func (b *browser) started(t *testing.T) *url.URL {
	t.Helper()
	resp, body := b.get("/login/oidc")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, b.o.issuer[:len(b.o.issuer)-len("/v2.0")]+"/oauth2/v2.0/authorize?") {
		t.Fatalf("/login/oidc: %d to %q: %s", resp.StatusCode, loc, body)
	}
	auth, _ := url.Parse(loc)
	q := auth.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" ||
		q.Get("scope") != "openid profile email" || q.Get("redirect_uri") != ssoRedirect {
		t.Fatalf("authorization request lacks PKCE, nonce, state, scopes or redirect URI: %v", q)
	}
	resp, body = b.get(loc)
	cb, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return cb
}

// refusedWith checks the answer sends the browser to the sign-in page with
// the reason in the flash cookie (never in the URL, where a link could put
// words of its own).
func refusedWith(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	var flash string
	for _, c := range resp.Cookies() {
		if c.Name == flashCookie {
			b, _ := base64.RawURLEncoding.DecodeString(c.Value)
			flash = string(b)
		}
	}
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/login" || loc.Query().Get("error") != "" ||
		!strings.HasPrefix(flash, "error|") || !strings.Contains(flash, want) {
		t.Fatalf("answered %d to %q with flash %q, want the sign-in page saying %q", resp.StatusCode, resp.Header.Get("Location"), flash, want)
	}
}

func TestOIDCRefusesForgedAndReplayedAnswers(t *testing.T) {
	o := newSSO(t, store.SQLite)
	ann := o.h.member(o.h.team.ID, "ann@contoso.com", "responder")
	o.idpUser(t, azureemu.User{Email: "ann@contoso.com"})
	tokenCalls := func() int {
		n := 0
		for _, r := range o.emu.Requests() {
			if strings.HasSuffix(r.Path, "/oauth2/v2.0/token") {
				n++
			}
		}
		return n
	}

	// An answer whose state is not this browser's is refused before the
	// code is redeemed.
	b := o.browser(t, false)
	cb := b.started(t)
	q := cb.Query()
	q.Set("state", "forged")
	cb.RawQuery = q.Encode()
	resp, _ := b.get(cb.String())
	refusedWith(t, resp, "does not belong to the sign-in this browser started")
	if _, ok := b.session(); ok || tokenCalls() != 0 {
		t.Fatalf("a forged state signed in or redeemed the code (%d token calls)", tokenCalls())
	}

	// An answer with no sign-in started in this browser.
	resp, _ = o.browser(t, false).get(cb.String())
	refusedWith(t, resp, "took too long")

	// A code used once is refused the second time, even with a fresh state.
	b = o.browser(t, false)
	cb = b.started(t)
	resp, _ = b.get(cb.String())
	if ss, ok := b.session(); resp.StatusCode != http.StatusSeeOther || !ok || ss.UserID != ann.ID {
		t.Fatalf("first use of the code: %d, session %v", resp.StatusCode, ok)
	}
	b2 := o.browser(t, false)
	fresh := b2.started(t)
	q = cb.Query()
	q.Set("state", fresh.Query().Get("state"))
	cb.RawQuery = q.Encode()
	resp, _ = b2.get(cb.String())
	refusedWith(t, resp, "AADSTS54005")
	if _, ok := b2.session(); ok {
		t.Error("a replayed code signed in")
	}
}

func TestOIDCShowsProviderErrors(t *testing.T) {
	o := newSSO(t, store.SQLite)
	o.h.member(o.h.team.ID, "ann@contoso.com", "responder")
	if _, err := o.emu.AddUser(ssoTenant, azureemu.User{Email: "ann@contoso.com"}); err != nil {
		t.Fatal(err)
	}
	// Nobody is signed in at the provider: its account picker shows, and
	// the user cancels there.
	b := o.browser(t, true)
	resp, body := b.get("/login/oidc?next=/duty")
	if resp.Request.URL.Host == "lastmile.test" || !strings.Contains(body, "ann@contoso.com") {
		t.Fatalf("expected the provider's account picker, got %s: %s", resp.Request.URL, body)
	}
	form := resp.Request.URL.Query()
	form.Set("cancel", "1")
	req, _ := http.NewRequest(http.MethodPost, resp.Request.URL.Scheme+"://"+resp.Request.URL.Host+resp.Request.URL.Path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body = b.do(req)
	landed(t, resp, "/login")
	if !strings.Contains(body, "Sign-in with Microsoft failed: AADSTS65004: User declined to consent to access the app.") ||
		strings.Contains(body, "Trace ID") || resp.Request.URL.Query().Get("next") != "/duty" {
		t.Errorf("provider error not shown in plain words (or next lost): %s %s", resp.Request.URL, body)
	}
	if _, ok := b.session(); ok {
		t.Error("a cancelled sign-in signed in")
	}
}

func TestOIDCProviderDownAtFirst(t *testing.T) {
	o := newSSO(t, store.SQLite)
	ann := o.h.member(o.h.team.ID, "ann@contoso.com", "responder")
	o.idpUser(t, azureemu.User{Email: "ann@contoso.com"})
	o.emu.Fail(azureemu.FailRule{PathContains: "openid-configuration", Status: http.StatusServiceUnavailable})

	b := o.browser(t, true)
	resp, body := b.get("/login/oidc")
	landed(t, resp, "/login")
	if !strings.Contains(body, "Sign-in with Microsoft is not available right now") || !strings.Contains(body, `name="password"`) {
		t.Fatalf("provider down: %s", body)
	}
	o.h.login(ann.Email) // passwords still work
	resp, _ = b.get("/login/oidc")
	landed(t, resp, "/inbox")
	if ss, ok := b.session(); !ok || ss.UserID != ann.ID {
		t.Fatal("discovery was not retried once the provider was back")
	}
}

func TestOIDCConfigRefusesSharedMicrosoftTenants(t *testing.T) {
	for _, iss := range []string{
		"https://login.microsoftonline.com/common/v2.0", "https://login.microsoftonline.com/organizations/v2.0",
		"https://login.microsoftonline.com/consumers/v2.0", "https://login.microsoftonline.com/common",
	} {
		err := OIDCConfig{Issuer: iss, ClientID: "c"}.Validate()
		if err == nil || !strings.Contains(err.Error(), "shared") || !strings.Contains(err.Error(), "tenant") {
			t.Errorf("issuer %s: %v, want it refused as a shared endpoint", iss, err)
		}
	}
	for _, tc := range []struct {
		cfg OIDCConfig
		ok  bool
	}{
		{OIDCConfig{Issuer: "https://login.microsoftonline.com/" + ssoTenant + "/v2.0", ClientID: "c"}, true},
		{OIDCConfig{Issuer: "https://accounts.google.com", ClientID: "c"}, true},
		{OIDCConfig{Issuer: "http://127.0.0.1:5556/dex", ClientID: "c"}, true},
		{OIDCConfig{Issuer: "http://idp.example.com", ClientID: "c"}, false},
		{OIDCConfig{Issuer: "https://accounts.google.com"}, false},
		{OIDCConfig{Issuer: "not a url", ClientID: "c"}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.cfg, err, tc.ok)
		}
	}

	// A server set up with such an issuer does not start, and says why.
	_, err := New(Config{Clock: clock.Real{}, OIDC: &OIDCConfig{Issuer: "https://login.microsoftonline.com/common/v2.0", ClientID: "c"}})
	if err == nil || !strings.Contains(err.Error(), `shared "common" endpoint`) {
		t.Fatalf("New with the common issuer: %v, want it refused", err)
	}
}

func TestOIDCRoutesOnlyWhenConfigured(t *testing.T) {
	h := sqliteHarness(t)
	if p := h.anon().get("/login/oidc"); p.status != http.StatusNotFound {
		t.Errorf("/login/oidc without OIDC: %d, want 404", p.status)
	}
	if p := h.anon().get("/login"); strings.Contains(p.body, "/login/oidc") {
		t.Error("the sign-in page offers single sign-on that is not configured")
	}
}

func TestOIDCSignedInUserIsSentOn(t *testing.T) {
	o := newSSO(t, store.SQLite)
	o.h.member(o.h.team.ID, "ann@contoso.com", "responder")
	o.idpUser(t, azureemu.User{Email: "ann@contoso.com"})
	b := o.browser(t, false)
	resp, _ := b.get(b.started(t).String())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	if resp, _ = b.get("/login/oidc?next=/duty"); resp.Header.Get("Location") != "/duty" {
		t.Errorf("a signed-in user starting single sign-on went to %q, want /duty", resp.Header.Get("Location"))
	}
}

func TestVouchedEmails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		entra bool
		c     idClaims
		want  string
	}{
		{"verified", false, idClaims{Email: "ann@example.com", EmailVerified: true}, "ann@example.com"},
		{"unverified", false, idClaims{Email: "ann@example.com"}, ""},
		{"username is not an address elsewhere", false, idClaims{PreferredUsername: "ann@example.com", EmailVerified: true}, ""},
		{"entra email then upn", true, idClaims{Email: "ann@contoso.com", PreferredUsername: "ann.x@contoso.com"}, "ann@contoso.com,ann.x@contoso.com"},
		{"entra upn only", true, idClaims{PreferredUsername: "ann@contoso.com"}, "ann@contoso.com"},
		{"entra upn not an address", true, idClaims{PreferredUsername: "ann"}, ""},
	} {
		if got := strings.Join(vouchedEmails(tc.entra, tc.c), ","); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
