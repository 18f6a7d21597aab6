package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/microsoft"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/action"
	"github.com/lastmile/lastmile/internal/notify/inbound"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/notify/push"
	"github.com/lastmile/lastmile/internal/notify/settings"
	"github.com/lastmile/lastmile/internal/notify/webhook"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
	"github.com/lastmile/lastmile/internal/web/session"
)

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// harness is the web app on a fresh database with an admin, a team "Ops"
// and the services behind the pages, served by httptest.
type harness struct {
	t          *testing.T
	db         *store.DB
	clock      *clock.Fake
	teams      *team.Service
	alerts     *alert.Service
	duty       *duty.Service
	settings   *settings.Service
	connectors *connector.Service
	outbound   *outbound.Service
	keys       *settings.Keys
	tokens     *action.Tokens
	sessions   *session.Store
	web        *Server
	srv        *httptest.Server
	admin      team.User
	team       team.Team
	secret     string
}

// harnessOption changes the configuration before the server is built.
type harnessOption func(h *harness, cfg *Config)

func newHarness(t *testing.T, d store.Dialect, opts ...harnessOption) *harness {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, d)
	c := clock.NewFake(time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)
	batch := store.NewBatcher(db, store.BatcherOptions{MaxBatch: 64, Logger: log})
	t.Cleanup(batch.Close)
	h := &harness{t: t, db: db, clock: c}
	h.teams = team.NewService(db, c)
	// Every test signs users in: bcrypt's default cost would make the
	// package's tests minutes long, and the cost is not what they test.
	h.teams.SetPasswordCost(bcrypt.MinCost)
	h.alerts = alert.NewService(db, batch, c, h.teams)
	if err := h.alerts.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	h.duty = duty.NewService(db, c, h.teams)
	box, err := seal.New([]byte("lastmile-web-test-key-32-bytes!!"))
	if err != nil {
		t.Fatal(err)
	}
	h.keys = settings.NewKeys(db, box, c)
	if h.tokens, err = action.New(ctx, h.keys, db, c); err != nil {
		t.Fatal(err)
	}
	in := inbound.New(db, h.alerts, h.teams, h.tokens, c, log)
	deps := notify.Deps{Log: log, Clock: c, BaseURL: "http://lastmile.test", HTTP: http.DefaultClient,
		Guarded: notify.GuardedClient(true, 5*time.Second), Keys: h.keys, Inbound: in}
	h.settings = settings.New(db, box, c, log, deps, notify.NewRegistry(),
		push.Provider(), webhook.Provider(webhook.Options{Secret: []byte("webhook-secret"), AllowPrivate: true}))
	if err := h.settings.Load(ctx); err != nil {
		t.Fatal(err)
	}
	h.connectors = connector.NewService(db, box, c, microsoft.Kind(microsoft.Options{Clock: c, Log: log}))
	h.outbound = outbound.NewService(db, box, c, outbound.Options{AllowPrivate: true, BaseURL: "http://lastmile.test"})
	h.sessions = session.New(db, c, false)
	cfg := Config{
		BaseURL: "http://lastmile.test", DB: db, Teams: h.teams, Alerts: h.alerts, Duty: h.duty, Sessions: h.sessions,
		Channels: h.settings, Connectors: h.connectors, Outbound: h.outbound,
		VAPIDPublicKey: func(ctx context.Context) (string, error) { return push.PublicKey(ctx, h.keys) },
		Clock:          c, Log: log,
	}
	for _, o := range opts {
		o(h, &cfg)
	}
	if h.web, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { h.web.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	h.srv = httptest.NewServer(h.web.Handler())
	t.Cleanup(h.srv.Close)
	h.admin = h.user("admin@example.com", true)
	if h.team, h.secret, err = h.teams.CreateTeam(ctx, "Ops", ""); err != nil {
		t.Fatal(err)
	}
	return h
}

// sqliteHarness is for tests whose subject does not depend on the database.
func sqliteHarness(t *testing.T, opts ...harnessOption) *harness {
	return newHarness(t, store.SQLite, opts...)
}

// eachDialect runs fn on SQLite and, when configured, PostgreSQL.
func eachDialect(t *testing.T, fn func(t *testing.T, h *harness)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) { fn(t, newHarness(t, d)) })
	}
}

// user adds a user with testPassword.
func (h *harness) user(email string, admin bool) team.User {
	h.t.Helper()
	u, err := h.teams.CreateUser(context.Background(), team.NewUser{Email: email, Name: strings.Split(email, "@")[0], IsAdmin: admin, Password: testPassword})
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// member adds a new user to the team with the role and returns them.
func (h *harness) member(teamID, email string, role team.Role) team.User {
	h.t.Helper()
	u := h.user(email, false)
	if _, err := h.teams.AddMember(context.Background(), teamID, u.ID, role); err != nil {
		h.t.Fatal(err)
	}
	return u
}

// alert raises an alert in the team as if its webhook had been called.
func (h *harness) alert(tm team.Team, title, severity string, params ...ingest.Param) alert.Alert {
	h.t.Helper()
	ctx := context.Background()
	out, err := h.alerts.Ingest(ctx, alert.Inbound{Team: tm, Raw: alert.Raw{Source: "webhook", ContentType: "application/json", Body: []byte(`{}`)},
		Event: &ingest.Event{Title: title, Text: title + " details", Severity: severity, Params: params, Action: ingest.ActionNew}})
	if err != nil {
		h.t.Fatal(err)
	}
	a, err := h.alerts.Get(ctx, out.AlertID)
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

// client is a browser: it keeps cookies, does not follow redirects (tests
// look at them), and sends the CSRF token of the last page it read.
type client struct {
	h    *harness
	http *http.Client
	csrf string
}

// page is a response as a test reads it.
type page struct {
	status   int
	header   http.Header
	body     string
	location string
}

// anon returns a client that is not signed in.
func (h *harness) anon() *client {
	jar, _ := cookiejar.New(nil)
	return &client{h: h, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login signs in with the password and returns the signed-in client.
func (h *harness) login(email string) *client {
	h.t.Helper()
	c := h.anon()
	p := c.post("/login", url.Values{"email": {email}, "password": {testPassword}})
	if p.status != http.StatusSeeOther {
		h.t.Fatalf("sign in as %s: status %d: %s", email, p.status, p.body)
	}
	u, _ := url.Parse(h.srv.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == h.sessions.CookieName() {
			ss, err := h.sessions.Lookup(context.Background(), ck.Value)
			if err != nil {
				h.t.Fatal(err)
			}
			c.csrf = ss.CSRF
		}
	}
	if c.csrf == "" {
		h.t.Fatalf("sign in as %s set no session cookie", email)
	}
	return c
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func (c *client) do(req *http.Request) page {
	c.h.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.h.t.Fatal(err)
	}
	p := page{status: resp.StatusCode, header: resp.Header, body: string(b), location: resp.Header.Get("Location")}
	if m := csrfMeta.FindStringSubmatch(p.body); m != nil {
		c.csrf = m[1]
	}
	return p
}

// get fetches a page.
func (c *client) get(path string) page {
	c.h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.h.srv.URL+path, nil)
	if err != nil {
		c.h.t.Fatal(err)
	}
	return c.do(req)
}

// post submits a form with the client's CSRF token (unless the form names
// its own "_csrf").
func (c *client) post(path string, form url.Values) page {
	c.h.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok && c.csrf != "" {
		form.Set("_csrf", c.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, c.h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}
