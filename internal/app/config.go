// Package app builds lastmile from its configuration, starts it and stops it
// in order. It never touches signals, so tests can run the real thing.
package app

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/seal"
)

// Config is everything `lastmile serve` can be told.
type Config struct {
	Listen                    string
	DatabaseURL               string
	BaseURL                   string
	LogLevel                  string
	LogFormat                 string
	SQLiteSynchronous         string
	PostgresSynchronousCommit string
	DBMaxConns                int
	MaxBodyBytes              int64
	Migrate                   bool
	ShutdownTimeout           time.Duration
	// NoEngine serves the API only: this instance plans and sends no
	// notifications (others on the same database do).
	NoEngine bool
	// WebhookSecret signs outbound notification webhooks.
	WebhookSecret string
	// AllowPrivateWebhooks lets webhook targets be internal addresses.
	AllowPrivateWebhooks bool
	// EncryptionKey seals stored secrets (provider credentials, webhook
	// secrets); EncryptionKeyFile holds it, and is created on first start
	// when neither is given.
	EncryptionKey     string
	EncryptionKeyFile string
	// ChannelLimits replaces the default per-address message limits.
	ChannelLimits string
	// ConnectorCAFile names PEM certificate authorities the Microsoft
	// connector trusts besides the system's.
	ConnectorCAFile string
	// OIDC* offer single sign-on with an OpenID Connect provider
	// (Microsoft Entra ID or any other) on the sign-in page.
	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	OIDCName         string
	// OIDCCAFile names PEM certificate authorities trusted for the OIDC
	// provider besides the system's (a private identity provider; tests).
	OIDCCAFile string
}

// DefaultDatabaseURL is an SQLite file in the working directory.
const DefaultDatabaseURL = "sqlite:lastmile.db"

// RegisterDatabaseFlag adds --database-url, shared by every subcommand.
func RegisterDatabaseFlag(fs *flag.FlagSet, dst *string) {
	fs.StringVar(dst, "database-url", DefaultDatabaseURL, "database: sqlite:PATH or postgres://user@host/db")
}

// RegisterFlags adds the serve flags to fs, with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8080", "address to serve HTTP on")
	RegisterDatabaseFlag(fs, &c.DatabaseURL)
	fs.StringVar(&c.BaseURL, "base-url", "", "URL users reach this server at, for links (default http://LISTEN)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
	fs.StringVar(&c.SQLiteSynchronous, "sqlite-synchronous", "full", "SQLite durability: full (survives power loss) or normal (survives a crash of lastmile)")
	fs.StringVar(&c.PostgresSynchronousCommit, "postgres-synchronous-commit", "on", "PostgreSQL synchronous_commit for lastmile's sessions: on, off, local, remote_write or remote_apply")
	fs.IntVar(&c.DBMaxConns, "db-max-conns", 16, "database connections per instance")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 25<<20, "largest inbound webhook request, in bytes")
	fs.BoolVar(&c.Migrate, "migrate", true, "apply database migrations at start (false: only check that they are applied)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long a graceful stop waits for requests in flight")
	fs.BoolVar(&c.NoEngine, "api-only", false, "serve the API only; plan and send no notifications (other instances on the database do)")
	fs.StringVar(&c.WebhookSecret, "webhook-secret", "", "secret that signs outbound notification webhooks (X-Lastmile-Signature); prefer LASTMILE_WEBHOOK_SECRET_FILE")
	fs.BoolVar(&c.AllowPrivateWebhooks, "allow-private-webhooks", false, "let webhooks and chat URLs members or team admins enter go to private, loopback and link-local addresses")
	fs.StringVar(&c.EncryptionKey, "encryption-key", "", "32-byte key (base64) that encrypts stored credentials; prefer LASTMILE_ENCRYPTION_KEY_FILE")
	fs.StringVar(&c.EncryptionKeyFile, "encryption-key-file", "lastmile.key", "file holding the encryption key; created with a new key on first start if missing")
	fs.StringVar(&c.ConnectorCAFile, "connector-ca-file", "", "PEM file of extra certificate authorities the Microsoft connector trusts (a TLS-inspecting proxy; the Azure emulator)")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", "", "OpenID Connect issuer URL for single sign-on, e.g. https://login.microsoftonline.com/<tenant-id>/v2.0")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", "", "client (application) id registered with the OpenID Connect provider")
	fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", "", "client secret for the OpenID Connect provider; prefer LASTMILE_OIDC_CLIENT_SECRET_FILE")
	fs.StringVar(&c.OIDCName, "oidc-name", "Microsoft", "provider name on the sign-in button (\"Sign in with …\")")
	fs.StringVar(&c.OIDCCAFile, "oidc-ca-file", "", "PEM file of extra certificate authorities trusted for the OpenID Connect provider")
	fs.StringVar(&c.ChannelLimits, "channel-limits", "", "per-address message limits replacing the defaults, e.g. \"sms=1/1m,5/15m,11/1h;push=20/1m\"")
}

// ApplyEnv sets every flag that was not given on the command line from its
// environment variable LASTMILE_<NAME> (upper case, dashes as underscores).
// A variable ending in _FILE names a file to read the value from.
func ApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		key := "LASTMILE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v := getenv(key)
		if v == "" {
			if path := getenv(key + "_FILE"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", key, err))
					return
				}
				v = strings.TrimSpace(string(b))
			}
		}
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", key, v, err))
		}
	})
	return errors.Join(errs...)
}

// Validate checks the configuration once, before anything starts.
func (c *Config) Validate() error {
	var errs []error
	if c.Listen == "" {
		errs = append(errs, errors.New("--listen must not be empty"))
	}
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("--database-url must not be empty"))
	}
	if c.OIDCIssuer != "" {
		if u, err := url.Parse(c.OIDCIssuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--oidc-issuer %q must be the provider's https URL", c.OIDCIssuer))
		}
		if c.OIDCClientID == "" {
			errs = append(errs, errors.New("--oidc-issuer needs --oidc-client-id (the application id registered with the provider)"))
		}
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--base-url %q must be an http(s) URL", c.BaseURL))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: use debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: use text or json", c.LogFormat))
	}
	if c.MaxBodyBytes < 1<<20 {
		errs = append(errs, errors.New("--max-body-bytes must be at least 1048576"))
	}
	if c.EncryptionKey != "" {
		if _, err := seal.ParseKey(c.EncryptionKey); err != nil {
			errs = append(errs, fmt.Errorf("--encryption-key: %w", err))
		}
	}
	if _, err := notify.ParseLimits(c.ChannelLimits); err != nil {
		errs = append(errs, fmt.Errorf("--channel-limits: %w", err))
	}
	if c.DBMaxConns < 2 {
		// Migrations on PostgreSQL hold one connection for their lock.
		errs = append(errs, errors.New("--db-max-conns must be at least 2"))
	}
	return errors.Join(errs...)
}

// Redacted returns the database URL without its password, for logs. A URL
// it cannot read is not shown at all beyond its scheme.
func Redacted(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		scheme, _, _ := strings.Cut(dbURL, ":")
		return scheme + ":(unreadable URL, not shown)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
