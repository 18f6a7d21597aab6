package azureemu

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
)

const (
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testSub    = "d0cfe6b2-9ac0-4464-9919-dccaee2e48c0"
	testRG     = "rg-sentinel"
	testWSName = "ws-sentinel"
	testWSID   = "c8c9a8d3-6a5d-4c3e-9b0a-111111111111"

	graphScope = "https://graph.microsoft.com/.default"
	armScope   = "https://management.azure.com/.default"
	laScope    = "https://api.loganalytics.io/.default"
	monScope   = "https://monitor.azure.com//.default"
)

// env is one started emulator with a tenant, a workspace and apps.
type env struct {
	emu *Emulator
	clk *clock.Fake
	ws  Workspace
}

func newEnv(t *testing.T) *env {
	t.Helper()
	// Near the wall clock: MSAL stamps client assertions with time.Now.
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	emu := New(Options{Clock: clk})
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	if err := emu.AddTenant(testTenant, "contoso.onmicrosoft.com"); err != nil {
		t.Fatal(err)
	}
	ws, err := emu.AddWorkspace(Workspace{SubscriptionID: testSub, ResourceGroup: testRG, Name: testWSName, WorkspaceID: testWSID})
	if err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, clk: clk, ws: ws}
}

// app registers an app with a secret and the given grants.
func (v *env) app(t *testing.T, id string, app App) App {
	t.Helper()
	app.ClientID = id
	if app.Secret == "" {
		app.Secret = "secret-" + id
	}
	a, err := v.emu.AddApp(testTenant, app)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// token gets an access token with the client credentials grant.
func (v *env) token(t *testing.T, clientID, scope string) string {
	t.Helper()
	resp, body := v.form(t, "/"+testTenant+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {"secret-" + clientID}, "scope": {scope + " openid offline_access profile"},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token for %s (%s): %d %s", clientID, scope, resp.StatusCode, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token response %s: %v", body, err)
	}
	return tr.AccessToken
}

func (v *env) form(t *testing.T, path string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, v.emu.URL()+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return v.send(t, req)
}

// do sends a request with an optional bearer token and JSON body (a
// string or []byte is sent as is).
func (v *env) do(t *testing.T, method, pathOrURL, token string, body any, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	u := pathOrURL
	if strings.HasPrefix(u, "/") {
		u = v.emu.URL() + u
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	return v.send(t, req)
}

func (v *env) send(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := v.emu.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func jsonMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %s: %v", b, err)
	}
	return m
}

// errCode returns error.code (or error for Entra, Error for the Data
// Collector).
func errCode(t *testing.T, b []byte) string {
	t.Helper()
	m := jsonMap(t, b)
	switch e := m["error"].(type) {
	case map[string]any:
		s, _ := e["code"].(string)
		return s
	case string:
		return e
	}
	s, _ := m["Error"].(string)
	return s
}

func errMessage(t *testing.T, b []byte) string {
	t.Helper()
	m := jsonMap(t, b)
	if e, ok := m["error"].(map[string]any); ok {
		s, _ := e["message"].(string)
		return s
	}
	if s, ok := m["error_description"].(string); ok {
		return s
	}
	s, _ := m["Message"].(string)
	return s
}

func wsPath() string {
	return "/subscriptions/" + testSub + "/resourceGroups/" + testRG + "/providers/Microsoft.OperationalInsights/workspaces/" + testWSName
}

func incidentsPath() string {
	return wsPath() + "/providers/Microsoft.SecurityInsights/incidents"
}

const apiV = "?api-version=2025-09-01"
