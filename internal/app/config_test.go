package app_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/app"
)

// parsed returns a Config with its flags parsed from args.
func parsed(t *testing.T, args ...string) (*app.Config, *flag.FlagSet) {
	t.Helper()
	var c app.Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &c, fs
}

func mapEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestApplyEnvSetsUnsetFlags(t *testing.T) {
	c, fs := parsed(t, "--listen", "0.0.0.0:9000", "--log-level", "warn")
	env := map[string]string{
		"LASTMILE_LISTEN":                      "127.0.0.1:1111", // given on the command line: ignored
		"LASTMILE_LOG_LEVEL":                   "debug",          // likewise
		"LASTMILE_DATABASE_URL":                "postgres://lm@db/lastmile",
		"LASTMILE_BASE_URL":                    "https://alerts.example.com",
		"LASTMILE_LOG_FORMAT":                  "json",
		"LASTMILE_DB_MAX_CONNS":                "4",
		"LASTMILE_MAX_BODY_BYTES":              "2097152",
		"LASTMILE_MIGRATE":                     "false",
		"LASTMILE_SHUTDOWN_TIMEOUT":            "5s",
		"LASTMILE_SQLITE_SYNCHRONOUS":          "normal",
		"LASTMILE_POSTGRES_SYNCHRONOUS_COMMIT": "off",
		"LISTEN":                               "wrong", // no prefix: not ours
	}
	if err := app.ApplyEnv(fs, mapEnv(env)); err != nil {
		t.Fatal(err)
	}
	want := app.Config{
		Listen:                    "0.0.0.0:9000",
		DatabaseURL:               "postgres://lm@db/lastmile",
		BaseURL:                   "https://alerts.example.com",
		LogLevel:                  "warn",
		LogFormat:                 "json",
		SQLiteSynchronous:         "normal",
		PostgresSynchronousCommit: "off",
		DBMaxConns:                4,
		MaxBodyBytes:              2 << 20,
		Migrate:                   false,
		ShutdownTimeout:           5 * time.Second,
		EncryptionKeyFile:         "lastmile.key",
		OIDCName:                  "Microsoft",
	}
	if *c != want {
		t.Fatalf("config after ApplyEnv = %+v\nwant %+v", *c, want)
	}
}

func TestApplyEnvKeepsDefaultsWithoutEnv(t *testing.T) {
	c, fs := parsed(t)
	if err := app.ApplyEnv(fs, mapEnv(nil)); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.DatabaseURL != app.DefaultDatabaseURL || c.LogLevel != "info" || c.DBMaxConns != 16 || !c.Migrate || c.ShutdownTimeout != 20*time.Second {
		t.Fatalf("defaults changed: %+v", *c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
}

func TestApplyEnvFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "db-url")
	if err := os.WriteFile(file, []byte("  postgres://lm:s3cret@db/lastmile\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	c, fs := parsed(t)
	if err := app.ApplyEnv(fs, mapEnv(map[string]string{"LASTMILE_DATABASE_URL_FILE": file})); err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://lm:s3cret@db/lastmile" {
		t.Fatalf("DatabaseURL from _FILE = %q, want the file's trimmed content", c.DatabaseURL)
	}

	// The plain variable wins over _FILE.
	c, fs = parsed(t)
	env := map[string]string{"LASTMILE_DATABASE_URL": "sqlite:plain.db", "LASTMILE_DATABASE_URL_FILE": file}
	if err := app.ApplyEnv(fs, mapEnv(env)); err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "sqlite:plain.db" {
		t.Fatalf("DatabaseURL = %q, want the plain variable's value", c.DatabaseURL)
	}

	// A flag given on the command line wins; its _FILE is not even read.
	c, fs = parsed(t, "--database-url", "sqlite:flag.db")
	if err := app.ApplyEnv(fs, mapEnv(map[string]string{"LASTMILE_DATABASE_URL_FILE": filepath.Join(dir, "missing")})); err != nil {
		t.Fatalf("ApplyEnv read the _FILE of a flag set on the command line: %v", err)
	}
	if c.DatabaseURL != "sqlite:flag.db" {
		t.Fatalf("DatabaseURL = %q, want the flag's value", c.DatabaseURL)
	}

	// A missing file is an error naming the variable.
	_, fs = parsed(t)
	err := app.ApplyEnv(fs, mapEnv(map[string]string{"LASTMILE_DATABASE_URL_FILE": filepath.Join(dir, "missing")}))
	if err == nil || !strings.Contains(err.Error(), "LASTMILE_DATABASE_URL_FILE") {
		t.Fatalf("ApplyEnv with a missing _FILE = %v, want an error naming LASTMILE_DATABASE_URL_FILE", err)
	}

	// A file holding a bad value is an error too.
	bad := filepath.Join(dir, "conns")
	if err := os.WriteFile(bad, []byte("lots\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, fs = parsed(t)
	if err := app.ApplyEnv(fs, mapEnv(map[string]string{"LASTMILE_DB_MAX_CONNS_FILE": bad})); err == nil || !strings.Contains(err.Error(), "LASTMILE_DB_MAX_CONNS") {
		t.Fatalf("ApplyEnv with a bad value in a _FILE = %v, want an error naming the variable", err)
	}
}

func TestApplyEnvBadValues(t *testing.T) {
	tests := []struct{ key, value string }{
		{"LASTMILE_DB_MAX_CONNS", "many"},
		{"LASTMILE_MAX_BODY_BYTES", "1MB"},
		{"LASTMILE_MIGRATE", "perhaps"},
		{"LASTMILE_SHUTDOWN_TIMEOUT", "20"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, fs := parsed(t)
			err := app.ApplyEnv(fs, mapEnv(map[string]string{tt.key: tt.value}))
			if err == nil || !strings.Contains(err.Error(), tt.key) || !strings.Contains(err.Error(), tt.value) {
				t.Fatalf("ApplyEnv(%s=%s) = %v, want an error naming the variable and value", tt.key, tt.value, err)
			}
		})
	}
	// All bad variables are reported, not just the first.
	_, fs := parsed(t)
	err := app.ApplyEnv(fs, mapEnv(map[string]string{"LASTMILE_DB_MAX_CONNS": "many", "LASTMILE_MIGRATE": "perhaps"}))
	if err == nil || !strings.Contains(err.Error(), "LASTMILE_DB_MAX_CONNS") || !strings.Contains(err.Error(), "LASTMILE_MIGRATE") {
		t.Fatalf("ApplyEnv with two bad variables = %v, want both named", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(c *app.Config)
		wantErr string // "" means valid
	}{
		{"defaults", func(c *app.Config) {}, ""},
		{"every log level", func(c *app.Config) { c.LogLevel = "debug" }, ""},
		{"https base URL", func(c *app.Config) { c.BaseURL = "https://alerts.example.com/lastmile" }, ""},
		{"http base URL with port", func(c *app.Config) { c.BaseURL = "http://10.0.0.1:8080" }, ""},
		{"two connections", func(c *app.Config) { c.DBMaxConns = 2 }, ""},
		{"json logs", func(c *app.Config) { c.LogFormat = "json" }, ""},
		{"1 MiB body", func(c *app.Config) { c.MaxBodyBytes = 1 << 20 }, ""},
		{"bad log level", func(c *app.Config) { c.LogLevel = "loud" }, "--log-level"},
		{"upper-case log level", func(c *app.Config) { c.LogLevel = "INFO" }, "--log-level"},
		{"base URL without scheme", func(c *app.Config) { c.BaseURL = "alerts.example.com" }, "--base-url"},
		{"ftp base URL", func(c *app.Config) { c.BaseURL = "ftp://alerts.example.com" }, "--base-url"},
		{"base URL without host", func(c *app.Config) { c.BaseURL = "https://" }, "--base-url"},
		{"unparsable base URL", func(c *app.Config) { c.BaseURL = "http://[::1" }, "--base-url"},
		{"one connection", func(c *app.Config) { c.DBMaxConns = 1 }, "--db-max-conns"},
		{"no connections", func(c *app.Config) { c.DBMaxConns = 0 }, "--db-max-conns"},
		{"empty listen", func(c *app.Config) { c.Listen = "" }, "--listen"},
		{"empty database URL", func(c *app.Config) { c.DatabaseURL = "" }, "--database-url"},
		{"xml logs", func(c *app.Config) { c.LogFormat = "xml" }, "--log-format"},
		{"small body limit", func(c *app.Config) { c.MaxBodyBytes = 1<<20 - 1 }, "--max-body-bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := parsed(t)
			tt.change(c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error about %s", err, tt.wantErr)
			}
		})
	}
	// Several mistakes are reported together.
	c, _ := parsed(t)
	c.LogLevel, c.DBMaxConns = "loud", 1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--log-level") || !strings.Contains(err.Error(), "--db-max-conns") {
		t.Fatalf("Validate with two mistakes = %v, want both reported", err)
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://lm:s3cret@db.example.com:5432/lastmile?sslmode=require", "postgres://lm:xxxxx@db.example.com:5432/lastmile?sslmode=require"},
		{"postgresql://lm:p%40ss@db/lastmile", "postgresql://lm:xxxxx@db/lastmile"},
		{"postgres://lm@db.example.com/lastmile", "postgres://lm@db.example.com/lastmile"},
		{"postgres://db.example.com/lastmile", "postgres://db.example.com/lastmile"},
		{"sqlite:lastmile.db", "sqlite:lastmile.db"},
		{"/var/lib/lastmile/lastmile.db", "/var/lib/lastmile/lastmile.db"},
	}
	for _, tt := range tests {
		got := app.Redacted(tt.in)
		if got != tt.want {
			t.Errorf("Redacted(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "p%40ss") {
			t.Errorf("Redacted(%q) = %q still holds the password", tt.in, got)
		}
	}
}

// TestRedactedURLsNetURLRejects: pgx accepts these URLs, so the server
// starts and logs Redacted(DatabaseURL); the password must not show.
func TestRedactedURLsNetURLRejects(t *testing.T) {
	for _, in := range []string{
		"postgres://lm:pa#s3cret@db.example.com/lastmile",
		"postgres://lm@db.example.com/lastmile?password=s3cret",
	} {
		if got := app.Redacted(in); strings.Contains(got, "s3cret") {
			t.Errorf("Redacted(%q) = %q still holds the password", in, got)
		}
	}
}
