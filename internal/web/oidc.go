package web

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// OIDCConfig is single sign-on with an OpenID Connect provider.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// Name is shown on the button ("Sign in with Microsoft").
	Name string
	// CAFile names PEM certificate authorities trusted for the provider
	// besides the system's.
	CAFile string
}

// microsoftHosts are the Entra ID sign-in hosts of the public and national
// clouds.
var microsoftHosts = []string{
	"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn",
	"login.chinacloudapi.cn", "sts.windows.net",
}

// sharedTenants are Entra's multi-tenant endpoints (and the tenant of
// personal Microsoft accounts): anyone from any organisation, or anyone at
// all, signs in through them, so the addresses they carry prove nothing.
var sharedTenants = []string{"common", "organizations", "consumers", "9188040d-6c67-4c5b-b112-36a304b66dad"}

func isMicrosoftHost(host string) bool {
	return slices.Contains(microsoftHosts, strings.ToLower(host))
}

// Validate reports a configuration that cannot work, or that would let
// strangers in.
func (c OIDCConfig) Validate() error {
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return fmt.Errorf("the OIDC issuer %q must be the provider's https URL", c.Issuer)
	}
	if c.ClientID == "" {
		return errors.New("the OIDC client id (the application id registered with the provider) is missing")
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if (isMicrosoftHost(u.Hostname()) || strings.HasSuffix(u.Path, "/v2.0")) && slices.Contains(sharedTenants, strings.ToLower(segs[0])) {
		return fmt.Errorf("the OIDC issuer %q is Microsoft's shared %q endpoint, through which any organisation's users sign in; use your tenant's own issuer, https://login.microsoftonline.com/<tenant-id>/v2.0",
			c.Issuer, segs[0])
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// oidcProvider signs users in with the configured provider. Discovery
// happens on first use and is retried until it succeeds: the provider may
// be down when lastmile starts, and password sign-in must work meanwhile.
type oidcProvider struct {
	cfg         OIDCConfig
	redirectURL string
	secure      bool
	// err is a configuration problem; sign-in is refused with it.
	err    error
	client *http.Client

	// now is the injected clock's, for token expiry.
	now func() time.Time

	mu   sync.Mutex
	meta *oidcMeta
}

// oidcTimeout bounds each request to the provider.
const oidcTimeout = 10 * time.Second

func newOIDCProvider(cfg OIDCConfig, baseURL string, now func() time.Time) *oidcProvider {
	p := &oidcProvider{
		cfg:         cfg,
		now:         now,
		redirectURL: strings.TrimRight(baseURL, "/") + "/login/oidc/callback",
		secure:      secure(baseURL),
	}
	p.cfg.Issuer = strings.TrimSpace(cfg.Issuer)
	var cerr error
	p.client, cerr = oidcHTTPClient(cfg.CAFile)
	p.err = errors.Join(p.cfg.Validate(), cerr)
	return p
}

// oidcHTTPClient trusts the system's authorities plus those in caFile.
func oidcHTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	var err error
	if caFile != "" {
		pool, perr := x509.SystemCertPool()
		if perr != nil {
			pool = x509.NewCertPool()
		}
		pem, rerr := os.ReadFile(caFile)
		switch {
		case rerr != nil:
			err = fmt.Errorf("read the OIDC CA file: %w", rerr)
		case !pool.AppendCertsFromPEM(pem):
			err = fmt.Errorf("the OIDC CA file %s holds no PEM certificate", caFile)
		default:
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
	}
	return &http.Client{Transport: tr, Timeout: oidcTimeout}, err
}

// name names the provider inside a sentence.
func (p *oidcProvider) name() string {
	if p.cfg.Name != "" {
		return p.cfg.Name
	}
	return "your identity provider"
}
