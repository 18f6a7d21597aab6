package sentinel

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/lastmile/lastmile/internal/clock"
)

// Token scopes, one per audience. Logs Ingestion's has the double slash
// its SDK sends (audience "https://monitor.azure.com/" + "/.default").
const (
	ScopeResourceManager = "https://management.azure.com/.default"
	ScopeGraph           = "https://graph.microsoft.com/.default"
	ScopeLogAnalytics    = "https://api.loganalytics.io/.default"
	ScopeMonitor         = "https://monitor.azure.com//.default"
)

// Client talks to Sentinel (ARM), Graph security, Log Analytics and the
// two Azure Monitor ingestion APIs on behalf of one app registration. It
// is safe for concurrent use.
type Client struct {
	cfg   Config
	ep    Endpoints
	cred  azcore.TokenCredential
	http  *http.Client
	clock clock.Clock
	log   *slog.Logger
	sleep func(ctx context.Context, d time.Duration) error
}

// New validates cfg and builds the credential. No request is made yet.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, ep: cfg.Endpoints.withDefaults(), http: cfg.HTTP, clock: cfg.Clock, log: cfg.Log, sleep: cfg.Sleep}
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.sleep == nil {
		c.sleep = timerSleep
	}
	cred, err := newCredential(cfg, c.ep.AuthorityHost, c.http)
	if err != nil {
		return nil, err
	}
	c.cred = cred
	return c, nil
}

// newCredential makes the one credential the client uses for every
// audience; azidentity caches each audience's token and renews it before
// it expires.
func newCredential(cfg Config, authority string, hc *http.Client) (azcore.TokenCredential, error) {
	co := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: authority},
		Transport: hc,
		// Entra's own failures are answered at once; three quick tries
		// are plenty for its rare 5xx and keep a failing sign-in short.
		Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 500 * time.Millisecond, MaxRetryDelay: 5 * time.Second},
	}
	tenant, client := strings.TrimSpace(cfg.TenantID), strings.TrimSpace(cfg.ClientID)
	if strings.TrimSpace(cfg.CertificatePEM) != "" {
		certs, key, err := azidentity.ParseCertificates([]byte(cfg.CertificatePEM), nil)
		if err != nil {
			return nil, fmt.Errorf("certificate cannot be read: %w", err)
		}
		cred, err := azidentity.NewClientCertificateCredential(tenant, client, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
		if err != nil {
			return nil, fmt.Errorf("set up certificate credential: %w", err)
		}
		return cred, nil
	}
	cred, err := azidentity.NewClientSecretCredential(tenant, client, cfg.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
	if err != nil {
		return nil, fmt.Errorf("set up client secret credential: %w", err)
	}
	return cred, nil
}

func defaultHTTPClient() *http.Client {
	return &http.Client{
		// Log Analytics queries may run for a few minutes; callers bound
		// shorter calls with their context.
		Timeout: 5 * time.Minute,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: 4 * time.Minute,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   4,
			ForceAttemptHTTP2:     true,
		},
	}
}

func timerSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// token returns a bearer token for scope. claims, when set, makes
// azidentity skip its cache and ask Entra again: that is how a token the
// service rejected as expired is replaced (the cache would hand the same
// one back until its own idea of expiry).
func (c *Client) token(ctx context.Context, scope, claims string) (string, error) {
	scope = c.ep.scope(scope)
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}, Claims: claims, EnableCAE: true})
	if err != nil {
		return "", c.tokenError(scope, err)
	}
	return tok.Token, nil
}

// freshClaims is a CAE claims challenge asking for a token issued after
// a moment: what a service sends when it revokes a token, and a valid
// request for a new one. Any claims make azidentity skip its cache; the
// moment is set a little back so a clock ahead of Entra's asks nothing
// impossible.
func (c *Client) freshClaims() string {
	return fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, c.clock.Now().Add(-5*time.Minute).Unix())
}
