package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/httpapi"
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

// testSealKey is the encryption key of every test server: fixed, so a
// failure can be reproduced by opening the database by hand.
const testSealKey = "lastmile-httpapi-test-key-32byte"

// env is a server on a fresh database with an admin, a team and its secret,
// the channel subsystem with the fake provider (unconfigured until a test
// saves its settings) and the webhook provider, and the connector service
// with the fake microsoft kind.
type env struct {
	t        *testing.T
	srv      *httptest.Server
	db       *store.DB
	teams    *team.Service
	alerts   *alert.Service
	clock    *clock.Fake
	adminKey string
	team     team.Team
	secret   string

	box      *seal.Box
	keys     *settings.Keys
	tokens   *action.Tokens
	settings *settings.Service
	fake     *fakeProvider

	connectors *connector.Service
	msft       *fakeMicrosoft

	// sessions are the web app's sign-ins, which the API also accepts.
	sessions *session.Store
}

// envOption changes the channel subsystem before the server starts; the
// env's database, services and clock are set when it runs.
type envOption func(e *env, ch *httpapi.Channels)

func newEnv(t *testing.T, d store.Dialect) *env {
	return newEnvWith(t, d, httpapi.Config{})
}

// newEnvWith builds an env. cfg.Channels, if nil, is the harness's channel
// subsystem, which opts may change; one given is used as it is.
// cfg.Connectors, if nil, is the harness's connector service unless an
// option (withoutConnectors) drops it.
func newEnvWith(t *testing.T, d store.Dialect, cfg httpapi.Config, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, d)
	c := clock.NewFake(time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)
	batch := store.NewBatcher(db, store.BatcherOptions{MaxBatch: 64, Logger: log})
	t.Cleanup(batch.Close)
	teams := team.NewService(db, c)
	alerts := alert.NewService(db, batch, c, teams)
	if err := alerts.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://lastmile.test"
	}
	duties := duty.NewService(db, c, teams)
	e := &env{t: t, db: db, teams: teams, alerts: alerts, clock: c, msft: &fakeMicrosoft{}}
	var err error
	if e.box, err = seal.New([]byte(testSealKey)); err != nil {
		t.Fatal(err)
	}
	e.connectors = connector.NewService(db, e.box, c, e.msft.kind())
	if cfg.Channels == nil {
		cfg.Channels = e.channels(ctx, cfg.BaseURL, log)
		for _, o := range opts {
			o(e, cfg.Channels)
		}
	}
	if cfg.Connectors == nil {
		cfg.Connectors = e.connectors
	}
	if cfg.Sessions == nil {
		cfg.Sessions = session.New(db, c, false)
	}
	e.sessions = cfg.Sessions
	e.srv = httptest.NewServer(httpapi.New(cfg, db, teams, alerts, duties, c, log).Handler())
	t.Cleanup(e.srv.Close)
	admin, err := teams.CreateUser(ctx, team.NewUser{Email: "admin@example.com", IsAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, e.adminKey, err = teams.CreateAPIKey(ctx, admin.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if e.team, e.secret, err = teams.CreateTeam(ctx, "Ops", ""); err != nil {
		t.Fatal(err)
	}
	return e
}

// channels builds the channel subsystem as internal/app does, with the fake
// provider and the webhook provider, outbound webhooks allowed to private
// addresses, and the push key. It seals with e.box.
func (e *env) channels(ctx context.Context, baseURL string, log *slog.Logger) *httpapi.Channels {
	e.t.Helper()
	var err error
	e.keys = settings.NewKeys(e.db, e.box, e.clock)
	if e.tokens, err = action.New(ctx, e.keys, e.db, e.clock); err != nil {
		e.t.Fatal(err)
	}
	in := inbound.New(e.db, e.alerts, e.teams, e.tokens, e.clock, log)
	deps := notify.Deps{Log: log, Clock: e.clock, BaseURL: baseURL, HTTP: http.DefaultClient,
		Guarded: notify.GuardedClient(true, 5*time.Second), Keys: e.keys, Inbound: in}
	e.fake = &fakeProvider{}
	e.settings = settings.New(e.db, e.box, e.clock, log, deps, notify.NewRegistry(),
		e.fake.provider(), webhook.Provider(webhook.Options{Secret: []byte("webhook-secret"), AllowPrivate: true}))
	if err := e.settings.Load(ctx); err != nil {
		e.t.Fatal(err)
	}
	return &httpapi.Channels{
		Settings: e.settings,
		Inbound:  in,
		Outbound: outbound.NewService(e.db, e.box, e.clock, outbound.Options{AllowPrivate: true, BaseURL: baseURL}),
		VAPIDPublicKey: func(ctx context.Context) (string, error) {
			return push.PublicKey(ctx, e.keys)
		},
	}
}

// eachDialect runs fn on SQLite and, when configured, PostgreSQL.
func eachDialect(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) { fn(t, newEnv(t, d)) })
	}
}

// sqliteEnv is for tests whose subject does not depend on the database.
func sqliteEnv(t *testing.T) *env { return newEnv(t, store.SQLite) }

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

func (e *env) do(method, path string, body io.Reader, header map[string]string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// send posts an inbound event to the team's webhook.
func (e *env) send(contentType, body string) response {
	e.t.Helper()
	h := map[string]string{}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return e.do("POST", "/webhook/"+e.secret, strings.NewReader(body), h)
}

// sendJSON posts a JSON event and fails unless it is accepted.
func (e *env) sendJSON(body string) (eventStatus, alertID string) {
	e.t.Helper()
	r := e.send("application/json", body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("webhook answered %d: %s", r.status, r.body)
	}
	return r.header.Get("X-Lastmile-Event-Status"), r.header.Get("X-Lastmile-Alert-Id")
}

// api calls the REST API with key, sending body as JSON when not nil.
func (e *env) api(method, path, key string, body any) response {
	e.t.Helper()
	var rd io.Reader
	h := map[string]string{}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
		h["Content-Type"] = "application/json"
	}
	return e.do(method, path, rd, h)
}

func (e *env) alert(id string) alert.Alert {
	e.t.Helper()
	r := e.api("GET", "/api/v1/alerts/"+id, e.adminKey, nil)
	if r.status != 200 {
		e.t.Fatalf("get alert %s: %d %s", id, r.status, r.body)
	}
	var a alert.Alert
	if err := json.Unmarshal(r.body, &a); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) event(id string) alert.Event {
	e.t.Helper()
	r := e.api("GET", "/api/v1/events/"+id, e.adminKey, nil)
	if r.status != 200 {
		e.t.Fatalf("get event %s: %d %s", id, r.status, r.body)
	}
	var ev alert.Event
	if err := json.Unmarshal(r.body, &ev); err != nil {
		e.t.Fatal(err)
	}
	return ev
}

func (e *env) listAlerts(query string) []alert.Alert {
	e.t.Helper()
	r := e.api("GET", "/api/v1/alerts"+query, e.adminKey, nil)
	if r.status != 200 {
		e.t.Fatalf("list alerts: %d %s", r.status, r.body)
	}
	var p struct {
		Items      []alert.Alert `json:"items"`
		NextCursor string        `json:"nextCursor"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

// user makes a user with an API key and, if teamID is set, a membership.
func (e *env) user(email, teamID string, role team.Role) (team.User, string) {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.teams.CreateUser(ctx, team.NewUser{Email: email})
	if err != nil {
		e.t.Fatal(err)
	}
	_, key, err := e.teams.CreateAPIKey(ctx, u.ID, "")
	if err != nil {
		e.t.Fatal(err)
	}
	if teamID != "" {
		if _, err := e.teams.AddMember(ctx, teamID, u.ID, role); err != nil {
			e.t.Fatal(err)
		}
	}
	return u, key
}

func param(a alert.Alert, name string) (string, bool) {
	for _, p := range a.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}
