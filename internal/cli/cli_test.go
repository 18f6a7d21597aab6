package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/cli"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

type result struct {
	code           int
	stdout, stderr string
}

// run calls cli.Main with env as the whole environment.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runCtx(t, context.Background(), env, args...)
}

func runCtx(t *testing.T, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(ctx, args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return result{code, out.String(), errb.String()}
}

func (r result) want(t *testing.T, code int, args ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("lastmile %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
}

// fixture is a fresh SQLite database in a temporary directory, which is
// also the working directory so that a forgotten --database-url cannot
// create lastmile.db in the source tree.
type fixture struct {
	t    *testing.T
	path string
	url  string
	env  map[string]string
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	t.Chdir(dir)
	p := filepath.Join(dir, "x.db")
	return &fixture{t: t, path: p, url: "sqlite:" + p, env: map[string]string{}}
}

// do runs a command against the fixture's database and checks its exit code.
func (f *fixture) do(code int, args ...string) result {
	f.t.Helper()
	args = append(args, "--database-url", f.url)
	r := run(f.t, f.env, args...)
	r.want(f.t, code, args...)
	return r
}

// service opens the fixture's database directly.
func (f *fixture) service() *team.Service {
	f.t.Helper()
	db, err := store.Open(context.Background(), f.url, store.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { db.Close() })
	return team.NewService(db, clock.Real{})
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not the JSON expected: %v\n%s", err, s)
	}
	return v
}

var keyRE = regexp.MustCompile(`\blm_[a-z2-7]{20,}\b`)

func TestAdminFlow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// user add --admin --api-key prints the key once.
	r := f.do(0, "user", "add", "a@example.com", "--admin", "--api-key")
	if !strings.Contains(r.stdout, "created user a@example.com") || !strings.Contains(r.stdout, "administrator") {
		t.Fatalf("user add output: %q", r.stdout)
	}
	key := keyRE.FindString(r.stdout)
	if key == "" {
		t.Fatalf("user add --api-key printed no lm_ key: %q", r.stdout)
	}
	s := f.service()
	u, err := s.Authenticate(ctx, key)
	if err != nil {
		t.Fatalf("printed key does not authenticate: %v", err)
	}
	if u.Email != "a@example.com" || !u.IsAdmin {
		t.Fatalf("key belongs to %+v, want admin a@example.com", u)
	}

	// Adding the same user again is a conflict: exit 1 with one line.
	r = f.do(1, "user", "add", "A@example.com")
	if r.stdout != "" {
		t.Fatalf("failed user add wrote to stdout: %q", r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "lastmile user: ") || !strings.Contains(r.stderr, "already exists") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Fatalf("conflict stderr = %q, want one line saying the user already exists", r.stderr)
	}

	// Invalid input is exit 2.
	r = f.do(2, "user", "add", "not-an-email")
	if !strings.Contains(r.stderr, "not-an-email") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("invalid email stderr = %q", r.stderr)
	}
	f.do(2, "user", "add", "tz@example.com", "--time-zone", "Mars/Base")
	f.do(2, "user", "add")
	f.do(2, "user", "add", "one@example.com", "two@example.com")
	f.do(2, "user", "add", "b@example.com", "--no-such-flag")

	// Flags after and before the positional argument.
	f.do(0, "user", "add", "b@example.com", "--name", "Bob", "--time-zone", "Europe/Berlin")
	f.do(0, "user", "add", "--name", "Cid", "c@example.com")
	users := decode[[]team.User](t, f.do(0, "user", "list", "--json").stdout)
	if len(users) != 3 {
		t.Fatalf("user list --json = %+v, want 3 users", users)
	}
	byEmail := map[string]team.User{}
	for _, u := range users {
		byEmail[u.Email] = u
	}
	if b := byEmail["b@example.com"]; b.Name != "Bob" || b.TimeZone != "Europe/Berlin" || b.IsAdmin {
		t.Fatalf("b@example.com = %+v, want Bob in Europe/Berlin, no admin", b)
	}
	if c := byEmail["c@example.com"]; c.Name != "Cid" || c.TimeZone != "UTC" {
		t.Fatalf("c@example.com = %+v, want Cid in UTC", c)
	}
	if !byEmail["a@example.com"].IsAdmin {
		t.Fatalf("a@example.com is not an admin: %+v", byEmail["a@example.com"])
	}
	if r := f.do(0, "user", "list"); !strings.Contains(r.stdout, "EMAIL") || !strings.Contains(r.stdout, "b@example.com") {
		t.Fatalf("user list text output: %q", r.stdout)
	}

	// Teams.
	r = f.do(0, "team", "create", "Ops", "--json")
	created := decode[struct {
		Team       team.Team `json:"team"`
		Secret     string    `json:"secret"`
		WebhookURL string    `json:"webhookUrl"`
		EventsURL  string    `json:"eventsUrl"`
	}](t, r.stdout)
	if created.Secret == "" || created.Team.Name != "Ops" || created.Team.DefaultScenario != "single_ack" {
		t.Fatalf("team create --json = %+v", created)
	}
	if created.WebhookURL != "http://127.0.0.1:8080/webhook/"+created.Secret || created.EventsURL != "http://127.0.0.1:8080/api/v2/events/"+created.Secret {
		t.Fatalf("team create URLs = %q, %q", created.WebhookURL, created.EventsURL)
	}
	if tm, err := s.TeamBySecret(ctx, created.Secret); err != nil || tm.ID != created.Team.ID {
		t.Fatalf("printed secret does not find the team: %+v, %v", tm, err)
	}
	f.do(1, "team", "create", "Ops")
	f.do(2, "team", "create", "Dev", "--scenario", "panic")
	r = f.do(0, "team", "create", "Dev", "--scenario", "emergency", "--base-url", "https://alerts.example.com/")
	secret := regexp.MustCompile(`inbound secret \(shown only now\): (\S+)`).FindStringSubmatch(r.stdout)
	if secret == nil || !strings.Contains(r.stdout, "webhook URL: https://alerts.example.com/webhook/"+secret[1]+"\n") {
		t.Fatalf("team create text output: %q", r.stdout)
	}

	teams := decode[[]team.Team](t, f.do(0, "team", "list", "--json").stdout)
	if len(teams) != 2 || teams[0].Name != "Dev" || teams[0].DefaultScenario != "emergency" || teams[1].Name != "Ops" || teams[1].ID != created.Team.ID {
		t.Fatalf("team list --json = %+v, want Dev (emergency), Ops", teams)
	}
	if r := f.do(0, "team", "list"); !strings.Contains(r.stdout, "Ops") || !strings.Contains(r.stdout, created.Secret[:6]) || strings.Contains(r.stdout, created.Secret) {
		t.Fatalf("team list text output shows no prefix or the whole secret: %q", r.stdout)
	}

	// Members.
	r = f.do(0, "team", "add-member", "Ops", "a@example.com", "--role", "manager")
	if !strings.Contains(r.stdout, "added a@example.com to Ops as manager") {
		t.Fatalf("add-member output: %q", r.stdout)
	}
	f.do(2, "team", "add-member", "Ops", "b@example.com", "--role", "boss")
	f.do(1, "team", "add-member", "Ops", "a@example.com")      // already a member
	f.do(1, "team", "add-member", "Nope", "b@example.com")     // no such team
	f.do(1, "team", "add-member", "Ops", "nobody@example.com") // no such user
	f.do(0, "team", "add-member", "--role", "admin", "Dev", "b@example.com")
	m := decode[team.Member](t, f.do(0, "team", "add-member", created.Team.ID, "c@example.com", "--json").stdout)
	if m.Role != team.RoleResponder || m.Email != "c@example.com" || m.TeamID != created.Team.ID {
		t.Fatalf("add-member --json (default role) = %+v", m)
	}
	ms, err := s.Members(ctx, created.Team.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Email != "a@example.com" || ms[0].Role != team.RoleManager || ms[1].Email != "c@example.com" {
		t.Fatalf("Ops members = %+v, want a (manager), c (responder)", ms)
	}
	f.do(0, "team", "remove-member", "Ops", "c@example.com")
	f.do(1, "team", "remove-member", "Ops", "c@example.com")
	if ms, _ := s.Members(ctx, created.Team.ID); len(ms) != 1 {
		t.Fatalf("Ops members after remove-member = %+v", ms)
	}

	// Rotating the secret prints a new one; the old one stops working.
	rot := decode[struct {
		Secret string `json:"secret"`
	}](t, f.do(0, "team", "rotate-secret", "Ops", "--json").stdout)
	if rot.Secret == "" || rot.Secret == created.Secret {
		t.Fatalf("rotate-secret printed %q (old %q)", rot.Secret, created.Secret)
	}
	if _, err := s.TeamBySecret(ctx, created.Secret); err == nil {
		t.Fatal("old secret still works after rotate-secret")
	}
	if tm, err := s.TeamBySecret(ctx, rot.Secret); err != nil || tm.ID != created.Team.ID {
		t.Fatalf("new secret: %+v, %v", tm, err)
	}

	// API keys.
	r = f.do(0, "user", "api-key", "a@example.com", "--name", "ci", "--json")
	ak := decode[struct {
		APIKey team.APIKey `json:"apiKey"`
		Key    string      `json:"key"`
	}](t, r.stdout)
	if !strings.HasPrefix(ak.Key, "lm_") || ak.APIKey.Name != "ci" || ak.APIKey.Prefix != ak.Key[:9] {
		t.Fatalf("user api-key --json = %+v", ak)
	}
	r = f.do(0, "user", "keys", "a@example.com", "--json")
	if strings.Contains(r.stdout, key) || strings.Contains(r.stdout, ak.Key) {
		t.Fatalf("user keys shows a secret: %s", r.stdout)
	}
	keys := decode[[]team.APIKey](t, r.stdout)
	if len(keys) != 2 || keys[0].Prefix != key[:9] || keys[1].ID != ak.APIKey.ID || keys[0].RevokedAt != nil {
		t.Fatalf("user keys --json = %+v, want the two keys, active", keys)
	}
	if empty := f.do(0, "user", "keys", "b@example.com", "--json").stdout; strings.TrimSpace(empty) != "[]" {
		t.Fatalf("user keys --json for a user without keys = %q, want []", empty)
	}
	f.do(1, "user", "keys", "nobody@example.com")
	f.do(2, "user", "keys")

	r = f.do(0, "user", "revoke-key", "a@example.com", keys[0].ID)
	if !strings.Contains(r.stdout, "revoked API key "+keys[0].ID) {
		t.Fatalf("revoke-key output: %q", r.stdout)
	}
	f.do(1, "user", "revoke-key", "a@example.com", keys[0].ID) // already revoked
	f.do(1, "user", "revoke-key", "b@example.com", keys[1].ID) // someone else's
	f.do(2, "user", "revoke-key", "a@example.com")
	if _, err := s.Authenticate(ctx, key); err == nil {
		t.Fatal("revoked key still authenticates")
	}
	if _, err := s.Authenticate(ctx, ak.Key); err != nil {
		t.Fatalf("the other key stopped working: %v", err)
	}
	keys = decode[[]team.APIKey](t, f.do(0, "user", "keys", "a@example.com", "--json").stdout)
	if len(keys) != 2 || keys[0].RevokedAt == nil || keys[1].RevokedAt != nil {
		t.Fatalf("user keys after revoke = %+v", keys)
	}
}

func TestUsageErrors(t *testing.T) {
	newFixture(t)
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{nil, 2, "Commands:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"user"}, 2, "missing subcommand"},
		{[]string{"team"}, 2, "missing subcommand"},
		{[]string{"user", "frobnicate"}, 2, `unknown subcommand "frobnicate"`},
		{[]string{"team", "frobnicate"}, 2, `unknown subcommand "frobnicate"`},
		{[]string{"help"}, 0, "Commands:"},
		{[]string{"-h"}, 0, "Commands:"},
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"user", "add", "-h"}, 0, "-api-key"},
		{[]string{"serve", "--log-level", "loud"}, 2, "--log-level"},
		{[]string{"serve", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"serve", "--db-max-conns", "many"}, 2, "db-max-conns"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := run(t, nil, tt.args...)
			r.want(t, tt.code, tt.args...)
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Fatalf("stderr = %q, want it to mention %q", r.stderr, tt.stderr)
			}
			if r.stdout != "" {
				t.Fatalf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
	if _, err := os.Stat("lastmile.db"); err == nil {
		t.Fatal("a usage error created lastmile.db in the working directory")
	}
}

func TestVersion(t *testing.T) {
	r := run(t, nil, "version")
	r.want(t, 0, "version")
	if r.stdout != "lastmile "+cli.Version+"\n" {
		t.Fatalf("version printed %q", r.stdout)
	}
}

func TestDatabaseURLFromEnv(t *testing.T) {
	f := newFixture(t)
	f.env["LASTMILE_DATABASE_URL"] = f.url
	run(t, f.env, "user", "add", "env@example.com").want(t, 0, "user add with LASTMILE_DATABASE_URL")
	if _, err := os.Stat(f.path); err != nil {
		t.Fatalf("LASTMILE_DATABASE_URL was not used: %v", err)
	}
	if _, err := os.Stat("lastmile.db"); err == nil {
		t.Fatal("the default database was created although LASTMILE_DATABASE_URL was set")
	}
	users := decode[[]team.User](t, run(t, f.env, "user", "list", "--json").stdout)
	if len(users) != 1 || users[0].Email != "env@example.com" {
		t.Fatalf("user list via LASTMILE_DATABASE_URL = %+v", users)
	}

	// The command line wins over the environment.
	other := "sqlite:" + filepath.Join(t.TempDir(), "other.db")
	run(t, f.env, "user", "add", "flag@example.com", "--database-url", other).want(t, 0, "user add --database-url")
	users = decode[[]team.User](t, run(t, f.env, "user", "list", "--json").stdout)
	if len(users) != 1 {
		t.Fatalf("user added with --database-url landed in LASTMILE_DATABASE_URL's database: %+v", users)
	}
	users = decode[[]team.User](t, run(t, f.env, "user", "list", "--json", "--database-url", other).stdout)
	if len(users) != 1 || users[0].Email != "flag@example.com" {
		t.Fatalf("user list --database-url = %+v", users)
	}

	// LASTMILE_DATABASE_URL_FILE names a file holding the URL.
	file := filepath.Join(t.TempDir(), "db-url")
	if err := os.WriteFile(file, []byte(f.url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fileEnv := map[string]string{"LASTMILE_DATABASE_URL_FILE": file}
	users = decode[[]team.User](t, run(t, fileEnv, "user", "list", "--json").stdout)
	if len(users) != 1 || users[0].Email != "env@example.com" {
		t.Fatalf("user list via LASTMILE_DATABASE_URL_FILE = %+v", users)
	}
	r := run(t, map[string]string{"LASTMILE_DATABASE_URL_FILE": filepath.Join(t.TempDir(), "missing")}, "user", "list")
	r.want(t, 2, "user list with a missing LASTMILE_DATABASE_URL_FILE")
	if !strings.Contains(r.stderr, "LASTMILE_DATABASE_URL_FILE") {
		t.Fatalf("stderr = %q, want it to name the variable", r.stderr)
	}
}

// TestAdminCommandsIgnoreOtherEnv: a LASTMILE_ADMIN meant for something else
// must not turn every new user into an administrator.
func TestAdminCommandsIgnoreOtherEnv(t *testing.T) {
	f := newFixture(t)
	f.env["LASTMILE_ADMIN"] = "true"
	f.env["LASTMILE_API_KEY"] = "true"
	f.env["LASTMILE_JSON"] = "true"
	f.env["LASTMILE_TIME_ZONE"] = "Europe/Berlin"
	f.env["LASTMILE_NAME"] = "Everyone"
	f.env["LASTMILE_ROLE"] = "admin"
	r := f.do(0, "user", "add", "plain@example.com")
	if keyRE.MatchString(r.stdout) || strings.HasPrefix(strings.TrimSpace(r.stdout), "{") {
		t.Fatalf("user add honoured LASTMILE_API_KEY or LASTMILE_JSON: %q", r.stdout)
	}
	users := decode[[]team.User](t, f.do(0, "user", "list", "--json").stdout)
	if len(users) != 1 {
		t.Fatalf("user list = %+v", users)
	}
	if u := users[0]; u.IsAdmin || u.TimeZone != "UTC" || u.Name != "" {
		t.Fatalf("user created with LASTMILE_ADMIN etc. set = %+v, want no admin, UTC, no name", u)
	}
	f.do(0, "team", "create", "Ops")
	f.do(0, "team", "add-member", "Ops", "plain@example.com")
	m, err := f.service().Member(context.Background(), mustTeamID(t, f), users[0].ID)
	if err != nil || m.Role != team.RoleResponder {
		t.Fatalf("member = %+v, %v; want responder despite LASTMILE_ROLE", m, err)
	}
}

func mustTeamID(t *testing.T, f *fixture) string {
	t.Helper()
	tm, err := f.service().TeamByRef(context.Background(), "Ops")
	if err != nil {
		t.Fatal(err)
	}
	return tm.ID
}

func TestMigrate(t *testing.T) {
	f := newFixture(t)
	r := f.do(0, "migrate")
	m := regexp.MustCompile(`^database schema is at version (\d+)\n$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("migrate printed %q", r.stdout)
	}
	db, err := store.Open(context.Background(), f.url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	latest, err := db.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := strconv.Atoi(m[1]); v != latest || v < 1 {
		t.Fatalf("migrate printed version %d, want the latest, %d", v, latest)
	}
	if err := db.CheckCurrent(context.Background()); err != nil {
		t.Fatalf("database not current after migrate: %v", err)
	}
	// Running it again is harmless.
	if r2 := f.do(0, "migrate"); r2.stdout != r.stdout {
		t.Fatalf("second migrate printed %q, first %q", r2.stdout, r.stdout)
	}
	// migrate honours LASTMILE_DATABASE_URL too.
	other := filepath.Join(t.TempDir(), "env.db")
	run(t, map[string]string{"LASTMILE_DATABASE_URL": "sqlite:" + other}, "migrate").want(t, 0, "migrate with LASTMILE_DATABASE_URL")
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("migrate did not use LASTMILE_DATABASE_URL: %v", err)
	}
}

func TestServeRejectsBadConfigWithoutStarting(t *testing.T) {
	f := newFixture(t)
	for _, args := range [][]string{
		{"serve", "--log-level", "loud", "--database-url", f.url, "--listen", "127.0.0.1:0"},
		{"serve", "--base-url", "alerts.example.com", "--database-url", f.url, "--listen", "127.0.0.1:0"},
		{"serve", "--db-max-conns", "1", "--database-url", f.url, "--listen", "127.0.0.1:0"},
	} {
		r := run(t, nil, args...)
		r.want(t, 2, args...)
		if strings.Contains(r.stderr, "serving") {
			t.Fatalf("serve started: %q", r.stderr)
		}
	}
	// serve reads every LASTMILE_<FLAG>, unlike the admin commands.
	env := map[string]string{"LASTMILE_LOG_LEVEL": "loud", "LASTMILE_DATABASE_URL": f.url, "LASTMILE_LISTEN": "127.0.0.1:0"}
	r := run(t, env, "serve")
	r.want(t, 2, "serve with LASTMILE_LOG_LEVEL=loud")
	if !strings.Contains(r.stderr, "loud") {
		t.Fatalf("stderr = %q, want it to mention the bad level", r.stderr)
	}
	if _, err := os.Stat(f.path); err == nil {
		t.Fatal("serve with a bad configuration opened the database")
	}
}

// cancelOn is a concurrency-safe writer that cancels a context once what it
// has been given contains trigger.
type cancelOn struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	delay   time.Duration
	cancel  context.CancelFunc
	fired   bool
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if !w.fired && strings.Contains(w.buf.String(), w.trigger) {
		w.fired = true
		time.AfterFunc(w.delay, w.cancel)
	}
	return n, err
}

func (w *cancelOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// serveUntil runs serve and stops it delay after it wrote trigger to stderr.
func serveUntil(t *testing.T, trigger string, delay time.Duration, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	errw := &cancelOn{trigger: trigger, delay: delay, cancel: cancel}
	code := cli.Main(ctx, append([]string{"serve"}, args...), cli.Env{Stdout: &out, Stderr: errw, Getenv: func(k string) string { return env[k] }})
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("serve did not stop; stderr: %s", errw.String())
	}
	return result{code, out.String(), errw.String()}
}

// TestServeStartsAndStops: serve starts, prints the first-start hint, and
// stops cleanly when its context is done.
func TestServeStartsAndStops(t *testing.T) {
	f := newFixture(t)
	env := map[string]string{"LASTMILE_SHUTDOWN_TIMEOUT": "5s", "LASTMILE_DATABASE_URL": f.url}
	r := serveUntil(t, "(set LASTMILE_DATABASE_URL", 0, env, "--listen", "127.0.0.1:0")
	r.want(t, 0, "serve")
	for _, want := range []string{"lastmile has no users yet", "lastmile user add you@example.com --admin --password --api-key --database-url", "lastmile team create Operations --base-url http://127.0.0.1:", "stopping"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("serve stderr = %q, want it to contain %q", r.stderr, want)
		}
	}
	if _, err := os.Stat(f.path); err != nil {
		t.Fatalf("serve did not create the database: %v", err)
	}
	// With a user, there is no hint. The hint comes after the server logs
	// that it is serving, so give it a moment before stopping.
	f.do(0, "user", "add", "a@example.com")
	r = serveUntil(t, "lastmile is serving", 300*time.Millisecond, env, "--listen", "127.0.0.1:0")
	r.want(t, 0, "serve")
	if strings.Contains(r.stderr, "no users yet") {
		t.Fatalf("serve printed the first-start hint although a user exists: %q", r.stderr)
	}
}

func TestDutyCommands(t *testing.T) {
	dir := t.TempDir()
	db := "--database-url=sqlite:" + dir + "/duty.db"
	run := func(args ...string) (int, string, string) {
		var out, errb strings.Builder
		code := cli.Main(context.Background(), append(args, db), cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		return code, out.String(), errb.String()
	}
	for _, args := range [][]string{
		{"user", "add", "ann@example.com"},
		{"team", "create", "Ops"},
		{"team", "add-member", "Ops", "ann@example.com"},
	} {
		if code, _, stderr := run(args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	code, out, stderr := run("duty", "punch-in", "Ops", "ann@example.com", "--manager")
	if code != 0 || !strings.Contains(out, "manager") || !strings.Contains(out, "ann@example.com") {
		t.Fatalf("punch-in: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = run("duty", "who", "Ops", "--json")
	if code != 0 || !strings.Contains(out, `"source": "punch"`) {
		t.Fatalf("who: exit %d\n%s", code, out)
	}
	if code, out, _ = run("duty", "punch-out", "Ops", "ann@example.com"); code != 0 || !strings.Contains(out, "nobody") {
		t.Fatalf("punch-out: exit %d\n%s", code, out)
	}
	if code, _, stderr = run("duty", "punch-out", "Ops", "ann@example.com"); code != 1 || !strings.Contains(stderr, "not punched in") {
		t.Fatalf("second punch-out: exit %d: %s", code, stderr)
	}
	if code, _, _ = run("duty", "who", "Ops", "--at", "yesterday"); code != 2 {
		t.Fatalf("bad --at: exit %d", code)
	}
	if code, _, _ = run("duty", "who"); code != 2 {
		t.Fatalf("missing team: exit %d", code)
	}
}

// syncBuffer lets a test read what a command running in a goroutine wrote.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestAzureEmulatorCommand(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"azure", "emulator", "--listen", "127.0.0.1:0", "--ca-out", ca},
			cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"clientSecret"`) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no settings printed: %q %q", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	pem, err := os.ReadFile(ca)
	if err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
		t.Fatalf("CA file: %v", err)
	}
	if !strings.Contains(out.String(), "--connector-ca-file "+ca) {
		t.Fatalf("no hint how to trust the emulator: %s", out.String())
	}
}

// The demo shows the whole loop: a Sentinel incident becomes an alert, the
// members are notified, the demo responder acknowledges, and Sentinel shows
// the incident taken.
func TestDemoShowsTheWholeLoop(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--dir", dir, "--incident-every", "1h", "--ack-after", "1s"},
			cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errOut.String(), "Sentinel shows the incident taken") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the loop did not close:\n%s\n%s", out.String(), errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	demoSignsIn(t, out.String())
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	log := errOut.String()
	for _, want := range []string{"msg=notification channel=sms", "Bob acknowledged the alert", "owner=bob@contoso.example"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	if !strings.Contains(out.String(), "API key") {
		t.Errorf("no instructions: %s", out.String())
	}
}

var passwordRE = regexp.MustCompile(`\b[a-z2-9]{5}(-[a-z2-9]{5}){3}\b`)

func TestUserPasswords(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.do(0, "user", "add", "p@example.com", "--password")
	pw := passwordRE.FindString(r.stdout)
	if pw == "" {
		t.Fatalf("user add --password printed no password: %q", r.stdout)
	}
	s := f.service()
	if _, err := s.CheckPassword(ctx, "p@example.com", pw); err != nil {
		t.Fatalf("the printed password does not sign in: %v", err)
	}
	r = f.do(0, "user", "set-password", "p@example.com")
	pw2 := passwordRE.FindString(r.stdout)
	if pw2 == "" || pw2 == pw {
		t.Fatalf("set-password printed %q, want a new password", r.stdout)
	}
	if _, err := s.CheckPassword(ctx, "p@example.com", pw); err == nil {
		t.Fatal("the old password still signs in after set-password")
	}
	if _, err := s.CheckPassword(ctx, "p@example.com", pw2); err != nil {
		t.Fatalf("the new password does not sign in: %v", err)
	}
	f.do(1, "user", "set-password", "nobody@example.com")
	f.do(2, "user", "set-password")
}

var demoLoginRE = regexp.MustCompile(`Open (http://\S+)/login and sign in as ann@contoso.example[^\n]*\n[^\n]*password (\S+) for both`)

// demoSignsIn signs in to the demo's web app as Ann with the printed
// password and finds the Sentinel incident's alert in her inbox.
func demoSignsIn(t *testing.T, out string) {
	t.Helper()
	m := demoLoginRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo printed no sign-in instructions:\n%s", out)
	}
	base, password := m[1], m[2]
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Sign in with Microsoft") {
		t.Errorf("the demo's sign-in page offers no single sign-on")
	}
	resp, err = c.PostForm(base+"/login", url.Values{"email": {"ann@contoso.example"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/inbox" || !strings.Contains(string(page), "Impossible travel activity") {
		t.Fatalf("signed in as Ann: %d at %s; want the inbox with the incident's alert", resp.StatusCode, resp.Request.URL)
	}
}

// The demo's incidents after the first arrive by push, as a Sentinel
// playbook would send them, and become alerts at once.
func TestDemoPushesIncidents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"demo", "--listen", "127.0.0.1:0", "--dir", dir, "--incident-every", "1s", "--ack-after", "0"},
			cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errOut.String(), `the playbook pushed the incident`) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no incident was pushed:\n%s", errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errOut.String(), `\"status\":\"created\"`) {
		t.Errorf("the push did not open the alert:\n%s", errOut.String())
	}
}
