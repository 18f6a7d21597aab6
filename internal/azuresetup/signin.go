package azuresetup

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/lastmile/lastmile/internal/connector/sentinel"
)

// endpoints are the service addresses and token scopes of the cloud the
// run acts on.
type endpoints struct {
	authority    string // with a trailing slash
	graph        string
	arm          string
	logAnalytics string
	graphScope   string
	armScope     string
	// custom: an override was given (the emulator): instance discovery
	// is off and the connector's settings carry the endpoints.
	custom bool
	cloud  string
}

func resolveEndpoints(c *Config) endpoints {
	ce, _ := sentinel.Cloud(c.Cloud) // checked in normalize
	pick := func(override, cloudValue, def string) string {
		switch {
		case override != "":
			return strings.TrimRight(override, "/")
		case cloudValue != "":
			return strings.TrimRight(cloudValue, "/")
		}
		return strings.TrimRight(def, "/")
	}
	ep := endpoints{
		authority:    pick(c.AuthorityHost, ce.AuthorityHost, sentinel.DefaultAuthorityHost) + "/",
		graph:        pick(c.GraphURL, ce.Graph, sentinel.DefaultGraph),
		arm:          pick(c.ARMURL, ce.ResourceManager, sentinel.DefaultResourceManager),
		logAnalytics: pick(c.LogAnalytics, ce.LogAnalytics, sentinel.DefaultLogAnalytics),
		custom:       c.AuthorityHost != "" || c.GraphURL != "" || c.ARMURL != "" || c.LogAnalytics != "",
		cloud:        c.Cloud,
	}
	scope := func(aud, def string) string {
		if aud == "" {
			aud = def
		}
		return strings.TrimRight(aud, "/") + "/.default"
	}
	ep.graphScope = scope(ce.GraphAudience, "https://graph.microsoft.com")
	ep.armScope = scope(ce.ResourceManagerAudience, "https://management.azure.com")
	return ep
}

// clientOptions point azidentity at the cloud's authority through our
// HTTP client.
func (ep endpoints) clientOptions(hc *http.Client) azcore.ClientOptions {
	var cfg cloud.Configuration
	switch ep.cloud {
	case "AzureUSGovernment":
		cfg = cloud.AzureGovernment
	case "AzureChina":
		cfg = cloud.AzureChina
	default:
		cfg = cloud.AzurePublic
	}
	cfg.ActiveDirectoryAuthorityHost = ep.authority
	return azcore.ClientOptions{
		Cloud:     cfg,
		Transport: hc,
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: 500 * time.Millisecond, MaxRetryDelay: 5 * time.Second},
	}
}

// signInMethod names how the admin signed in, for the summary.
type signInMethod string

const (
	signInDeviceCode  signInMethod = "device code"
	signInAzureCLI    signInMethod = "Azure CLI"
	signInEnvironment signInMethod = "environment (AZURE_* variables)"
	signInGiven       signInMethod = "given credential"
)

// credential picks how to sign in: a credential handed in (tests), the
// AZURE_* variables, the Azure CLI (asked for, or installed while no
// endpoint is overridden: az knows only the real clouds), or the device
// code flow.
func (r *runner) credential() (azcore.TokenCredential, signInMethod, error) {
	if r.d.Credential != nil {
		return r.d.Credential, signInGiven, nil
	}
	getenv := r.d.Getenv
	tenant := strings.TrimSpace(r.cfg.Tenant)
	if getenv("AZURE_CLIENT_ID") != "" && getenv("AZURE_TENANT_ID") != "" &&
		(getenv("AZURE_CLIENT_SECRET") != "" || getenv("AZURE_CLIENT_CERTIFICATE_PATH") != "") && !r.cfg.UseAzureCLI {
		cred, err := azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{
			ClientOptions: r.ep.clientOptions(r.http), DisableInstanceDiscovery: r.ep.custom})
		if err != nil {
			return nil, "", fmt.Errorf("sign in with the AZURE_* variables: %w", err)
		}
		return cred, signInEnvironment, nil
	}
	if r.cfg.UseAzureCLI || (!r.ep.custom && r.d.HasAzureCLI != nil && r.d.HasAzureCLI()) {
		cred, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: tenant})
		if err != nil {
			return nil, "", fmt.Errorf("sign in with the Azure CLI: %w", err)
		}
		if r.cfg.UseAzureCLI {
			return cred, signInAzureCLI, nil
		}
		// Detected, not asked for: use it only if it is signed in.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{r.ep.armScope}}); err == nil {
			return cred, signInAzureCLI, nil
		}
		r.d.Log.Info("the Azure CLI is installed but not signed in; using the device code flow")
	}
	if tenant == "" {
		tenant = "organizations"
	}
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions:            r.ep.clientOptions(r.http),
		ClientID:                 azureCLIClientID,
		TenantID:                 tenant,
		DisableInstanceDiscovery: r.ep.custom,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
			// Entra's own words: the page to open and the code to enter.
			_, err := fmt.Fprintln(r.d.Stderr, m.Message)
			return err
		},
	})
	if err != nil {
		return nil, "", fmt.Errorf("start the device code sign-in: %w", err)
	}
	return cred, signInDeviceCode, nil
}

// identity is who signed in, read from an access token's claims (to show
// and to address, never to decide access: the services do that).
type identity struct {
	TenantID string `json:"tid"`
	ObjectID string `json:"oid"`
	UPN      string `json:"upn"`
	Unique   string `json:"unique_name"`
	Username string `json:"preferred_username"`
	Name     string `json:"name"`
	AppID    string `json:"appid"`
	AzpID    string `json:"azp"`
	Scp      string `json:"scp"`
	Idtyp    string `json:"idtyp"`
}

// user tells a signed-in person from an application.
func (id identity) user() bool {
	return id.Scp != "" || id.UPN != "" || id.Unique != "" || strings.EqualFold(id.Idtyp, "user")
}

// account is how the summary names who signed in.
func (id identity) account() string {
	if !id.user() {
		app := id.AppID
		if app == "" {
			app = id.AzpID
		}
		return "application " + app
	}
	for _, v := range []string{id.UPN, id.Username, id.Unique} {
		if v != "" {
			return v
		}
	}
	return "user " + id.ObjectID
}

func tokenIdentity(tok string) (identity, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return identity{}, fmt.Errorf("the access token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return identity{}, fmt.Errorf("the access token cannot be read: %w", err)
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		return identity{}, fmt.Errorf("the access token cannot be read: %w", err)
	}
	return id, nil
}

// tokenRoles reads an app-only token's roles claim (to verify consent
// landed; Graph decides access).
func tokenRoles(tok string) []string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var c struct {
		Roles []string `json:"roles"`
	}
	_ = json.Unmarshal(b, &c)
	return c.Roles
}

// signIn gets the admin's tokens (Graph first: with the device code flow
// that is the one sign-in; ARM's token then comes silently) and reads who
// it is.
func (r *runner) signIn(ctx context.Context) error {
	cred, method, err := r.credential()
	if err != nil {
		return err
	}
	r.cred, r.method = cred, method
	if method == signInDeviceCode {
		r.say("Signing in with the device code flow (as the Azure CLI does).")
	}
	g, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{r.ep.graphScope}})
	if err != nil {
		return signInError("Microsoft Graph", err)
	}
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{r.ep.armScope}}); err != nil {
		return signInError("Azure Resource Manager", err)
	}
	who, err := tokenIdentity(g.Token)
	if err != nil {
		return err
	}
	r.who = who
	return nil
}

// shortError shows a shorter message for an error it still wraps.
type shortError struct {
	msg string
	err error
}

func (e *shortError) Error() string { return e.msg }
func (e *shortError) Unwrap() error { return e.err }

func signInError(service string, err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "\n"); i > 0 {
		// azidentity's errors carry the whole HTTP exchange; keep the
		// first line and the service's own description.
		first := msg[:i]
		if j := strings.Index(msg, "AADSTS"); j > 0 {
			end := strings.IndexAny(msg[j:], "\r\n")
			if end < 0 {
				end = len(msg) - j
			}
			first += ": " + msg[j:j+end]
		}
		msg = first
	}
	return fmt.Errorf("sign-in for %s failed: %w", service, &shortError{msg, err})
}

// say writes one line of the running commentary (the plan's writer).
func (r *runner) say(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}
