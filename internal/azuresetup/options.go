package azuresetup

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector/sentinel"
)

// Config is what the admin asked for.
type Config struct {
	Tenant        string // tenant id or domain; empty: the signed-in account's home tenant
	Subscription  string // subscription id or name; empty: the only one, or ask
	ResourceGroup string // narrows the workspace choice
	Workspace     string // Log Analytics workspace name; empty: ask (or list)
	Mode          string // sentinel (default), graph_incidents, graph_alerts, graph_legacy
	AppName       string // default DefaultAppName

	SecretMonths int    // lifetime of a new client secret (default 12)
	Certificate  []byte // PEM: register this certificate's public key instead of a secret
	NewSecret    bool   // add a secret even when one made by this tool is still valid

	Labels       bool // Microsoft Sentinel Contributor instead of Responder
	Augment      bool // Log Analytics Reader (default on for sentinel, set by the caller)
	LifecycleLog bool // table SIGNL4_CL, a Direct DCR, Monitoring Metrics Publisher on it

	DryRun      bool
	Remove      bool
	RemoveTable bool // with Remove: also drop the table, if this tool created it
	Yes         bool // no confirmation prompt

	LastmileURL    string // create the connector on this server
	LastmileAPIKey string
	Team           string

	JSON bool

	Cloud string // AzurePublic (default), AzureUSGovernment, AzureChina
	// Test-only endpoint overrides (the emulator).
	AuthorityHost string
	GraphURL      string
	ARMURL        string
	LogAnalytics  string

	UseAzureCLI bool // sign in with the Azure CLI's account
}

// Deps is how the run reaches the outside world; tests replace each part.
type Deps struct {
	Stdout io.Writer // the result (and, in text mode, the plan)
	Stderr io.Writer // prompts, progress, warnings
	Stdin  io.Reader // answers to prompts; nil: never ask
	// Interactive: a person is at a terminal (prompts allowed, progress
	// drawn on one line).
	Interactive bool
	Getenv      func(string) string
	HTTP        *http.Client // nil: a client with sane timeouts
	Log         *slog.Logger // nil: discard
	Clock       clock.Clock  // nil: the wall clock
	// Sleep waits between polls and retries; nil waits on a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Credential, when set, is used instead of signing in (tests).
	Credential azcore.TokenCredential
	// HasAzureCLI reports whether the Azure CLI is installed (detection);
	// nil: never detected.
	HasAzureCLI func() bool
	// PropagationTimeout bounds each wait for replication (default 10
	// minutes of waiting, counted in sleeps, not wall time).
	PropagationTimeout time.Duration
}

// Source modes, as the connector names them.
const (
	ModeSentinel       = sentinel.ModeSentinel
	ModeGraphIncidents = sentinel.ModeGraphIncidents
	ModeGraphAlerts    = sentinel.ModeGraphAlerts
	ModeGraphLegacy    = sentinel.ModeGraphLegacy
)

// DefaultAppName is the app registration's display name unless told.
const DefaultAppName = "lastmile Sentinel connector"

// Modes lists the source modes in the order help shows them.
func Modes() []string {
	return []string{ModeSentinel, ModeGraphIncidents, ModeGraphAlerts, ModeGraphLegacy}
}

// UsageError is a mistake in what was asked: the command exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{fmt.Sprintf(format, args...)} }

var (
	guidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE    = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$`)
	workspaceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$`)
)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// normalize fills defaults and checks the combination of options, in
// plain words.
func (c *Config) normalize() error {
	c.Mode = strings.TrimSpace(c.Mode)
	if c.Mode == "" {
		c.Mode = ModeSentinel
	}
	if !slices.Contains(Modes(), c.Mode) {
		return usagef("--mode %q: use %s", c.Mode, strings.Join(Modes(), ", "))
	}
	c.AppName = strings.TrimSpace(c.AppName)
	if c.AppName == "" {
		c.AppName = DefaultAppName
	}
	if len(c.AppName) > 120 {
		return usagef("--app-name is longer than 120 characters")
	}
	if c.SecretMonths == 0 {
		c.SecretMonths = 12
	}
	if c.SecretMonths < 1 || c.SecretMonths > 24 {
		return usagef("--secret-months %d: give 1 to 24 (Entra allows at most two years)", c.SecretMonths)
	}
	if t := strings.TrimSpace(c.Tenant); t != "" && !isGUID(t) && !domainRE.MatchString(t) {
		return usagef("--tenant %q: give the directory (tenant) id or a domain such as contoso.onmicrosoft.com", t)
	}
	if w := strings.TrimSpace(c.Workspace); w != "" && !workspaceRE.MatchString(w) {
		return usagef("--workspace %q is not a Log Analytics workspace name (4 to 63 letters, digits and hyphens)", w)
	}
	if c.Certificate != nil {
		if _, err := parseCertificate(c.Certificate); err != nil {
			return usagef("--certificate: %v", err)
		}
		if c.NewSecret {
			return usagef("--new-secret and --certificate exclude each other: the app gets one kind of credential from this tool")
		}
	}
	if c.RemoveTable && !c.Remove {
		return usagef("--remove-table only goes with --remove")
	}
	if c.Remove && (c.LastmileURL != "" || c.NewSecret) {
		return usagef("--remove takes no --lastmile-url or --new-secret")
	}
	if c.LastmileURL != "" {
		if !strings.HasPrefix(c.LastmileURL, "http://") && !strings.HasPrefix(c.LastmileURL, "https://") {
			return usagef("--lastmile-url %q: give the server's address, e.g. https://lastmile.example.com", c.LastmileURL)
		}
		if c.LastmileAPIKey == "" {
			return usagef("--lastmile-url needs an API key of a team admin: --lastmile-api-key or LASTMILE_API_KEY")
		}
		if strings.TrimSpace(c.Team) == "" {
			return usagef("--lastmile-url needs --team (the team's id) to create the connector in")
		}
	}
	if c.Cloud == "" {
		c.Cloud = "AzurePublic"
	}
	if _, err := sentinel.Cloud(c.Cloud); err != nil {
		return usagef("--cloud %q: use AzurePublic, AzureUSGovernment or AzureChina", c.Cloud)
	}
	for _, u := range []struct{ flag, v string }{{"--authority-host", c.AuthorityHost}, {"--graph-url", c.GraphURL},
		{"--arm-url", c.ARMURL}, {"--log-analytics-url", c.LogAnalytics}} {
		if u.v != "" && !strings.HasPrefix(u.v, "https://") {
			return usagef("%s %q must be an https URL", u.flag, u.v)
		}
	}
	return nil
}

// needsWorkspace tells whether the mode and options need a workspace.
func (c *Config) needsWorkspace() bool {
	return c.Mode == ModeSentinel || c.Augment || c.LifecycleLog || c.Workspace != ""
}

// parseCertificate reads the first certificate of a PEM file, and whether
// the file also holds a private key (which the connector's settings need).
func parseCertificate(pemBytes []byte) (*x509.Certificate, error) {
	rest := pemBytes
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM CERTIFICATE block found: give a PEM file with the certificate (and, for the connector, its private key)")
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the certificate cannot be read: %w", err)
		}
		return cert, nil
	}
}

// hasPrivateKey tells whether a PEM file holds a private key too.
func hasPrivateKey(pemBytes []byte) bool {
	rest := pemBytes
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return false
		}
		if strings.Contains(b.Type, "PRIVATE KEY") {
			return true
		}
	}
}
