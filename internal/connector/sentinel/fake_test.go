package sentinel

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
)

const (
	testTenant = "11111111-1111-1111-1111-111111111111"
	testClient = "22222222-2222-2222-2222-222222222222"
	testSub    = "33333333-3333-3333-3333-333333333333"
	testRG     = "soc-rg"
	testWS     = "soc-ws"
	testWSID   = "44444444-4444-4444-4444-444444444444"
	testSecret = "s3cret-value"
)

// incidentsPath is the ARM path of the test workspace's incidents.
const incidentsPath = "/subscriptions/" + testSub + "/resourceGroups/" + testRG +
	"/providers/Microsoft.OperationalInsights/workspaces/" + testWS + "/providers/Microsoft.SecurityInsights/incidents"

// seen is one request the fake received (token requests apart).
type seen struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte // decompressed when gzip
	RawLen int
}

// fakeAzure is a TLS server standing in for Entra ID and the APIs; tests
// add the API routes they need.
type fakeAzure struct {
	t   *testing.T
	srv *httptest.Server
	mux *http.ServeMux

	mu          sync.Mutex
	tokenCount  int
	tokenForms  []url.Values
	roles       []string                            // roles claim of issued tokens
	tokenFail   func(form url.Values) (int, string) // non-nil: answer token requests with this
	requests    []seen
	validTokens map[string]bool // nil: any bearer accepted
}

func newFakeAzure(t *testing.T) *fakeAzure {
	t.Helper()
	f := &fakeAzure{t: t, mux: http.NewServeMux()}
	f.mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", f.openID)
	f.mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", f.token)
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAzure) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.URL.Path, "/oauth2/") && !strings.Contains(r.URL.Path, "/.well-known/") {
		raw, _ := io.ReadAll(r.Body)
		body := raw
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err == nil {
				body, _ = io.ReadAll(zr)
			}
		}
		f.mu.Lock()
		f.requests = append(f.requests, seen{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), body, len(raw)})
		valid := f.validTokens
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if valid != nil && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			f.mu.Lock()
			ok := valid[tok]
			f.mu.Unlock()
			if !ok {
				writeJSON(w, 401, `{"error":{"code":"ExpiredAuthenticationToken","message":"The access token expiry UTC time is earlier than current UTC time."}}`)
				return
			}
		}
	}
	f.mux.ServeHTTP(w, r)
}

func (f *fakeAzure) openID(w http.ResponseWriter, r *http.Request) {
	base := f.srv.URL + "/" + r.PathValue("tenant")
	writeJSON(w, 200, fmt.Sprintf(`{"issuer":%q,"authorization_endpoint":%q,"token_endpoint":%q,"jwks_uri":%q,"token_endpoint_auth_methods_supported":["client_secret_post","private_key_jwt"]}`,
		base+"/v2.0", base+"/oauth2/v2.0/authorize", base+"/oauth2/v2.0/token", base+"/discovery/v2.0/keys"))
}

func (f *fakeAzure) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, `{"error":"invalid_request"}`)
		return
	}
	f.mu.Lock()
	f.tokenCount++
	n := f.tokenCount
	f.tokenForms = append(f.tokenForms, r.PostForm)
	fail, roles := f.tokenFail, f.roles
	f.mu.Unlock()
	if fail != nil {
		status, body := fail(r.PostForm)
		writeJSON(w, status, body)
		return
	}
	scope := strings.Fields(r.PostForm.Get("scope"))
	aud := ""
	if len(scope) > 0 {
		aud = strings.TrimSuffix(scope[0], "/.default")
	}
	tok := fakeJWT(map[string]any{"aud": aud, "tid": r.PathValue("tenant"), "appid": r.PostForm.Get("client_id"), "roles": roles, "n": n})
	f.mu.Lock()
	if f.validTokens != nil {
		f.validTokens[tok] = true
	}
	f.mu.Unlock()
	writeJSON(w, 200, fmt.Sprintf(`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":%q}`, tok))
}

func fakeJWT(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	b, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (f *fakeAzure) handle(pattern string, h http.HandlerFunc) { f.mux.HandleFunc(pattern, h) }

func (f *fakeAzure) seen() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.requests...)
}

func (f *fakeAzure) tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCount
}

// recSleeper records the waits instead of sleeping.
type recSleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *recSleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *recSleeper) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

var testNow = time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC)

func (f *fakeAzure) config() Config {
	return Config{
		TenantID: testTenant, SubscriptionID: testSub, ClientID: testClient, ClientSecret: testSecret,
		ResourceGroup: testRG, WorkspaceName: testWS, WorkspaceID: testWSID,
		Endpoints: Endpoints{AuthorityHost: f.srv.URL, ResourceManager: f.srv.URL, Graph: f.srv.URL, LogAnalytics: f.srv.URL},
		HTTP:      f.srv.Client(),
		Clock:     clock.NewFake(testNow),
	}
}

// client builds a Client on the fake with a recording sleeper.
func (f *fakeAzure) client() (*Client, *recSleeper) {
	f.t.Helper()
	return f.clientWith(f.config())
}

func (f *fakeAzure) clientWith(cfg Config) (*Client, *recSleeper) {
	f.t.Helper()
	s := &recSleeper{}
	cfg.Sleep = s.sleep
	c, err := New(cfg)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return c, s
}

func mustJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", b, err)
	}
	return m
}
