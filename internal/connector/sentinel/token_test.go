package sentinel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func entraFailure(status int, errWord string, code int, desc string) func(url.Values) (int, string) {
	return func(url.Values) (int, string) {
		return status, fmt.Sprintf(`{"error":%q,"error_description":"AADSTS%d: %s\r\nTrace ID: 255d1aef\r\nCorrelation ID: fb3d2015\r\nTimestamp: 2026-03-04 08:00:00Z","error_codes":[%d],"timestamp":"2026-03-04 08:00:00Z","trace_id":"255d1aef","correlation_id":"fb3d2015"}`,
			errWord, code, desc, code)
	}
}

func TestTokenErrorsInPlainWords(t *testing.T) {
	tests := []struct {
		status int
		word   string
		code   int
		desc   string
		want   string
	}{
		{401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
			"the client secret is wrong (use the secret's value, not its id) (AADSTS7000215)"},
		{401, "invalid_client", 7000222, "The provided client secret keys for app are expired.",
			"the client secret has expired"},
		{400, "unauthorized_client", 700016, "Application with identifier was not found in the directory.",
			"no app with client id " + testClient + " in tenant " + testTenant + " (wrong tenant, or the app was deleted) (AADSTS700016)"},
		{400, "invalid_request", 90002, "Tenant not found.",
			"tenant " + testTenant + " not found"},
		{400, "invalid_resource", 500011, "The resource principal named https://management.azure.com was not found in the tenant.",
			"is not available in tenant " + testTenant},
		{400, "invalid_scope", 1002012, "The provided value for scope is not valid.",
			"(client credentials need a resource's /.default scope) (AADSTS1002012)"},
		{400, "invalid_request", 9999999, "Something new went wrong.",
			"Entra said: Something new went wrong. (AADSTS9999999)"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			f := newFakeAzure(t)
			f.tokenFail = entraFailure(tt.status, tt.word, tt.code, tt.desc)
			c, _ := f.client()
			_, err := c.GetIncident(context.Background(), "abc")
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v (%T), want a *TokenError", err, err)
			}
			if te.Code != tt.code || te.Status != tt.status {
				t.Errorf("code, status = %d, %d; want %d, %d", te.Code, te.Status, tt.code, tt.status)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "sign-in to Entra ID failed: ") {
				t.Errorf("Error() = %q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "Trace ID") {
				t.Errorf("Error() = %q keeps Entra's trace lines", err)
			}
			if len(f.seen()) != 0 {
				t.Errorf("an API call was made without a token: %+v", f.seen())
			}
		})
	}
}

func TestTokenRequestPerAudienceAndCached(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"name":"`+r.PathValue("id")+`","properties":{"title":"t","severity":"Low","status":"New"}}`)
	})
	f.handle("GET /v1.0/security/incidents", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"value":[]}`) })
	c, _ := f.client()
	ctx := context.Background()
	for range 3 {
		if _, err := c.GetIncident(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ListGraphIncidents(ctx, testNow, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.tokens(); n != 2 {
		t.Fatalf("token requests = %d, want 2 (one per audience, then cached)", n)
	}
	f.mu.Lock()
	forms := f.tokenForms
	f.mu.Unlock()
	wantScopes := []string{ScopeResourceManager, ScopeGraph}
	for i, form := range forms {
		if form.Get("client_id") != testClient || form.Get("client_secret") != testSecret || form.Get("grant_type") != "client_credentials" {
			t.Errorf("token form %d = %v", i, form)
		}
		if got := strings.Fields(form.Get("scope")); len(got) == 0 || got[0] != wantScopes[i] {
			t.Errorf("token %d scope = %q, want %q first", i, form.Get("scope"), wantScopes[i])
		}
	}
	for _, s := range f.seen() {
		if !strings.HasPrefix(s.Header.Get("Authorization"), "Bearer ey") {
			t.Errorf("%s %s Authorization = %q", s.Method, s.Path, s.Header.Get("Authorization"))
		}
	}
}

func TestCertificateCredential(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"name":"a","properties":{"title":"t","severity":"Low","status":"New"}}`)
	})
	cfg := f.config()
	cfg.ClientSecret, cfg.CertificatePEM = "", testCertPEM(t)
	c, _ := f.clientWith(cfg)
	if _, err := c.GetIncident(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	form := f.tokenForms[0]
	f.mu.Unlock()
	if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || form.Get("client_assertion") == "" || form.Get("client_secret") != "" {
		t.Errorf("token form = %v, want a signed client assertion and no secret", form)
	}
}

// An authority host nobody answers at is named, with the network's reason,
// not MSAL's "unable to resolve an endpoint".
func TestUnreachableEntraInPlainWords(t *testing.T) {
	f := newFakeAzure(t)
	cfg := f.config()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String() + "/"
	ln.Close()
	cfg.Endpoints.AuthorityHost = closed
	c, _ := f.clientWith(cfg)
	_, err = c.GetIncident(context.Background(), "abc")
	if err == nil || !strings.Contains(err.Error(), "could not reach Entra ID at "+closed) || strings.Contains(err.Error(), "unable to resolve") {
		t.Fatalf("err = %v, want Entra named as unreachable in plain words", err)
	}
}
