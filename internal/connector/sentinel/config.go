package sentinel

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/lastmile/lastmile/internal/clock"
)

// Config says which tenant, app and workspace the clients talk to, and how.
type Config struct {
	TenantID       string // GUID or domain (contoso.onmicrosoft.com)
	SubscriptionID string // needed for Sentinel (ARM) calls
	ClientID       string // the app registration's application (client) id
	ClientSecret   string
	CertificatePEM string // certificate and private key, PEM, instead of a secret

	ResourceGroup string // resource group holding the workspace
	WorkspaceName string // Log Analytics workspace name (Sentinel lives on it)
	WorkspaceID   string // workspace (customer) id GUID, for Log Analytics queries

	Endpoints Endpoints
	HTTP      *http.Client // nil: a client with sane timeouts
	Clock     clock.Clock  // nil: the wall clock
	Log       *slog.Logger // nil: discard
	// Sleep waits between retries; nil waits on a real timer. Tests
	// record the waits instead of sleeping.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Endpoints are the base URLs of the Microsoft services. Empty fields take
// the public cloud's; tests point all of them at one emulator.
type Endpoints struct {
	AuthorityHost   string `json:"authorityHost,omitempty"`   // https://login.microsoftonline.com/
	ResourceManager string `json:"resourceManager,omitempty"` // https://management.azure.com
	Graph           string `json:"graph,omitempty"`           // https://graph.microsoft.com
	LogAnalytics    string `json:"logAnalytics,omitempty"`    // https://api.loganalytics.io
	// Audiences tokens are asked for, where a cloud's differ from the
	// public cloud's (a token's audience is not always its endpoint).
	ResourceManagerAudience string `json:"resourceManagerAudience,omitempty"`
	GraphAudience           string `json:"graphAudience,omitempty"`
	LogAnalyticsAudience    string `json:"logAnalyticsAudience,omitempty"`
	MonitorAudience         string `json:"monitorAudience,omitempty"`
}

// Clouds are the national clouds a connector can name instead of giving
// endpoints one by one.
var clouds = map[string]Endpoints{
	"AzurePublic": {},
	"AzureUSGovernment": {AuthorityHost: "https://login.microsoftonline.us/", ResourceManager: "https://management.usgovcloudapi.net",
		Graph: "https://graph.microsoft.us", LogAnalytics: "https://api.loganalytics.us",
		ResourceManagerAudience: "https://management.usgovcloudapi.net", GraphAudience: "https://graph.microsoft.us",
		LogAnalyticsAudience: "https://api.loganalytics.us", MonitorAudience: "https://monitor.azure.us/"},
	"AzureChina": {AuthorityHost: "https://login.chinacloudapi.cn/", ResourceManager: "https://management.chinacloudapi.cn",
		Graph: "https://microsoftgraph.chinacloudapi.cn", LogAnalytics: "https://api.loganalytics.azure.cn",
		ResourceManagerAudience: "https://management.chinacloudapi.cn", GraphAudience: "https://microsoftgraph.chinacloudapi.cn",
		LogAnalyticsAudience: "https://api.loganalytics.azure.cn", MonitorAudience: "https://monitor.azure.cn/"},
}

// Cloud returns the endpoints of a national cloud by name: AzurePublic,
// AzureUSGovernment or AzureChina.
func Cloud(name string) (Endpoints, error) {
	if e, ok := clouds[name]; ok {
		return e, nil
	}
	return Endpoints{}, fmt.Errorf("cloud %q: use AzurePublic, AzureUSGovernment or AzureChina (or give endpoints)", name)
}

// scope is the token scope for one of the public-cloud scopes, in the
// configured cloud.
func (e Endpoints) scope(public string) string {
	aud := map[string]string{ScopeResourceManager: e.ResourceManagerAudience, ScopeGraph: e.GraphAudience,
		ScopeLogAnalytics: e.LogAnalyticsAudience, ScopeMonitor: e.MonitorAudience}[public]
	if aud == "" {
		return public
	}
	// An audience ending in a slash keeps it, as the SDKs send it
	// ("https://monitor.azure.us//.default").
	return aud + "/.default"
}

// Public cloud endpoints.
const (
	DefaultAuthorityHost   = "https://login.microsoftonline.com/"
	DefaultResourceManager = "https://management.azure.com"
	DefaultGraph           = "https://graph.microsoft.com"
	DefaultLogAnalytics    = "https://api.loganalytics.io"
)

// withDefaults fills empty endpoints with the public cloud's and trims
// trailing slashes so paths join cleanly (the authority host keeps one:
// azidentity joins the tenant onto it).
func (e Endpoints) withDefaults() Endpoints {
	def := func(v, d string) string {
		if strings.TrimSpace(v) == "" {
			return d
		}
		return strings.TrimSpace(v)
	}
	e.AuthorityHost = strings.TrimRight(def(e.AuthorityHost, DefaultAuthorityHost), "/") + "/"
	e.ResourceManager = strings.TrimRight(def(e.ResourceManager, DefaultResourceManager), "/")
	e.Graph = strings.TrimRight(def(e.Graph, DefaultGraph), "/")
	e.LogAnalytics = strings.TrimRight(def(e.LogAnalytics, DefaultLogAnalytics), "/")
	return e
}

var (
	guidRE          = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE        = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$`)
	workspaceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$`)
	// ARM's rule for resource group names.
	resourceGroupRE = regexp.MustCompile(`^[-\w._()]+$`)
)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// Validate checks every field's form and says, in plain words, which are
// wrong. Fields only some calls need (subscription, resource group,
// workspace) are checked when set; ValidateSentinel requires them.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	switch t := strings.TrimSpace(c.TenantID); {
	case t == "":
		bad("tenant id is empty: give the directory (tenant) id GUID or a domain such as contoso.onmicrosoft.com")
	case !isGUID(t) && !domainRE.MatchString(t):
		bad("tenant id %q must be a GUID or a domain such as contoso.onmicrosoft.com", t)
	}
	switch id := strings.TrimSpace(c.ClientID); {
	case id == "":
		bad("client id is empty: give the app registration's application (client) id")
	case !isGUID(id):
		bad("client id %q must be a GUID (the application (client) id, not the app's name)", id)
	}
	if s := strings.TrimSpace(c.SubscriptionID); s != "" && !isGUID(s) {
		bad("subscription id %q must be a GUID", s)
	}
	switch hasSecret, hasCert := c.ClientSecret != "", strings.TrimSpace(c.CertificatePEM) != ""; {
	case hasSecret && hasCert:
		bad("give a client secret or a certificate, not both")
	case !hasSecret && !hasCert:
		bad("client secret is empty: give the secret's value (or a certificate instead)")
	case hasCert:
		if _, key, err := azidentity.ParseCertificates([]byte(c.CertificatePEM), nil); err != nil {
			bad("certificate cannot be read (it must be PEM with the certificate and its unencrypted private key): %v", err)
		} else if key == nil {
			bad("certificate has no private key: give the certificate and its private key in one PEM")
		} else if _, ok := key.(*rsa.PrivateKey); !ok {
			bad("certificate's private key must be RSA (Entra signs client assertions with RS256)")
		}
	}
	if rg := c.ResourceGroup; rg != "" && (len(rg) > 90 || !resourceGroupRE.MatchString(rg) || strings.HasSuffix(rg, ".")) {
		bad("resource group %q is not a valid name (letters, digits, '-', '_', '.', '(', ')'; at most 90; not ending in '.')", rg)
	}
	if ws := c.WorkspaceName; ws != "" && (len(ws) > 90 || !workspaceNameRE.MatchString(ws)) {
		bad("workspace name %q is not valid: letters, digits and '-', starting and ending with a letter or digit", ws)
	}
	if id := strings.TrimSpace(c.WorkspaceID); id != "" && !isGUID(id) {
		bad("workspace id %q must be a GUID (the workspace's id, not its name)", id)
	}
	for _, ep := range []struct{ name, v string }{
		{"authority host", c.Endpoints.AuthorityHost},
		{"resource manager endpoint", c.Endpoints.ResourceManager},
		{"graph endpoint", c.Endpoints.Graph},
		{"log analytics endpoint", c.Endpoints.LogAnalytics},
	} {
		if ep.v == "" {
			continue
		}
		if u, err := url.Parse(ep.v); err != nil || u.Scheme != "https" || u.Host == "" {
			bad("%s %q must be an https URL", ep.name, ep.v)
		}
	}
	return errors.Join(errs...)
}

// ValidateSentinel is Validate plus the fields the Sentinel (ARM) calls
// need: subscription, resource group and workspace name.
func (c Config) ValidateSentinel() error {
	var errs []error
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(c.SubscriptionID) == "" {
		errs = append(errs, errors.New("subscription id is empty: Sentinel needs the subscription holding the workspace"))
	}
	if c.ResourceGroup == "" {
		errs = append(errs, errors.New("resource group is empty: Sentinel needs the resource group holding the workspace"))
	}
	if c.WorkspaceName == "" {
		errs = append(errs, errors.New("workspace name is empty: Sentinel needs the Log Analytics workspace it runs on"))
	}
	return errors.Join(errs...)
}
