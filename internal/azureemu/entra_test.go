package azureemu

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenEndpoint(t *testing.T) {
	v := newEnv(t)
	v.app(t, "app-ok", App{GraphRoles: []string{"SecurityIncident.Read.All"}})
	v.app(t, "app-expired", App{SecretExpires: v.clk.Now().Add(-time.Hour)})
	base := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-ok"}, "client_secret": {"secret-app-ok"}, "scope": {graphScope}}
	with := func(k, val string) url.Values {
		f := url.Values{}
		for kk, vv := range base {
			f[kk] = vv
		}
		if val == "" {
			f.Del(k)
		} else {
			f.Set(k, val)
		}
		return f
	}
	cases := []struct {
		name   string
		tenant string
		form   url.Values
		status int
		err    string
		code   int
	}{
		{"graph", testTenant, base, 200, "", 0},
		{"tenant by domain", "contoso.onmicrosoft.com", base, 200, "", 0},
		{"msal default scopes", testTenant, with("scope", graphScope+" openid offline_access profile"), 200, "", 0},
		{"claims ignored", testTenant, with("claims", `{"access_token":{"xms_cc":{"values":["cp1"]}}}`), 200, "", 0},
		{"monitor double slash", testTenant, with("scope", "https://monitor.azure.com//.default"), 200, "", 0},
		{"monitor single slash", testTenant, with("scope", "https://monitor.azure.com/.default"), 200, "", 0},
		{"arm", testTenant, with("scope", armScope), 200, "", 0},
		{"log analytics", testTenant, with("scope", laScope), 200, "", 0},
		{"unknown tenant", "00000000-0000-0000-0000-000000000001", base, 400, "invalid_request", 90002},
		{"unknown client", testTenant, with("client_id", "nobody"), 400, "unauthorized_client", 700016},
		{"missing client", testTenant, with("client_id", ""), 400, "invalid_request", 900144},
		{"wrong secret", testTenant, with("client_secret", "nope"), 401, "invalid_client", 7000215},
		{"no credential", testTenant, with("client_secret", ""), 401, "invalid_client", 7000218},
		{"expired secret", testTenant, url.Values{"grant_type": {"client_credentials"}, "client_id": {"app-expired"}, "client_secret": {"secret-app-expired"}, "scope": {graphScope}}, 401, "invalid_client", 7000222},
		{"missing grant", testTenant, with("grant_type", ""), 400, "invalid_request", 900144},
		{"password grant", testTenant, with("grant_type", "password"), 400, "unsupported_grant_type", 70003},
		{"missing scope", testTenant, with("scope", ""), 400, "invalid_request", 900144},
		{"no .default", testTenant, with("scope", "https://graph.microsoft.com/SecurityIncident.Read.All"), 400, "invalid_scope", 1002012},
		{"only oidc scopes", testTenant, with("scope", "openid profile"), 400, "invalid_scope", 1002012},
		{"double encoded", testTenant, with("scope", "https%3A%2F%2Fgraph.microsoft.com%2F.default"), 400, "invalid_scope", 1002012},
		{"two resources", testTenant, with("scope", graphScope+" "+armScope), 400, "invalid_scope", 70011},
		{"unknown resource", testTenant, with("scope", "https://vault.example/.default"), 400, "invalid_resource", 500011},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := v.form(t, "/"+tc.tenant+"/oauth2/v2.0/token", tc.form)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			m := jsonMap(t, body)
			if tc.status == 200 {
				if m["token_type"] != "Bearer" || m["access_token"] == "" || m["expires_in"] != float64(3599) || m["ext_expires_in"] != float64(3599) {
					t.Fatalf("token response %v", m)
				}
				return
			}
			if m["error"] != tc.err {
				t.Errorf("error %v, want %s", m["error"], tc.err)
			}
			codes, _ := m["error_codes"].([]any)
			if len(codes) != 1 || codes[0] != float64(tc.code) {
				t.Errorf("error_codes %v, want [%d]", m["error_codes"], tc.code)
			}
			desc, _ := m["error_description"].(string)
			if !strings.HasPrefix(desc, "AADSTS") || !strings.Contains(desc, "\r\nTrace ID: ") || !strings.Contains(desc, "\r\nCorrelation ID: ") || !strings.Contains(desc, "\r\nTimestamp: ") {
				t.Errorf("error_description %q", desc)
			}
			for _, k := range []string{"timestamp", "trace_id", "correlation_id", "error_uri"} {
				if s, _ := m[k].(string); s == "" {
					t.Errorf("missing %s in %s", k, body)
				}
			}
		})
	}
}

func TestTokenBasicAuthAndV1(t *testing.T) {
	v := newEnv(t)
	v.app(t, "app-a", App{})

	req, _ := http.NewRequest(http.MethodPost, v.emu.URL()+"/"+testTenant+"/oauth2/v2.0/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {armScope}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app-a", "secret-app-a")
	if resp, body := v.send(t, req); resp.StatusCode != 200 {
		t.Fatalf("basic auth: %d %s", resp.StatusCode, body)
	}

	resp, body := v.form(t, "/"+testTenant+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"app-a"}, "client_secret": {"secret-app-a"}, "resource": {"https://api.loganalytics.io"},
	})
	if resp.StatusCode != 200 {
		t.Fatalf("v1: %d %s", resp.StatusCode, body)
	}
	m := jsonMap(t, body)
	for _, k := range []string{"expires_in", "ext_expires_in", "expires_on", "not_before"} {
		if _, ok := m[k].(string); !ok {
			t.Errorf("v1 %s should be a string: %v", k, m[k])
		}
	}
	if m["resource"] != "https://api.loganalytics.io" {
		t.Errorf("resource %v", m["resource"])
	}

	resp, body = v.form(t, "/"+testTenant+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"app-a"}, "client_secret": {"secret-app-a"}, "resource": {"https://unknown.example"},
	})
	if resp.StatusCode != 400 || errCode(t, body) != "invalid_resource" {
		t.Fatalf("v1 unknown resource: %d %s", resp.StatusCode, body)
	}

	resp, body = v.do(t, http.MethodGet, "/"+testTenant+"/oauth2/v2.0/token", "", nil)
	if resp.StatusCode != 400 || !strings.Contains(errMessage(t, body), "AADSTS900561") {
		t.Fatalf("GET token: %d %s", resp.StatusCode, body)
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	v := newEnv(t)
	resp, body := v.do(t, http.MethodGet, "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	m := jsonMap(t, body)
	want := v.emu.URL() + "/" + testTenant
	if m["issuer"] != want+"/v2.0" || m["token_endpoint"] != want+"/oauth2/v2.0/token" || m["authorization_endpoint"] != want+"/oauth2/v2.0/authorize" || m["jwks_uri"] != want+"/discovery/v2.0/keys" {
		t.Errorf("discovery %v", m)
	}
	resp, body = v.do(t, http.MethodGet, "/nope/v2.0/.well-known/openid-configuration", "", nil)
	if resp.StatusCode != 400 || !strings.Contains(errMessage(t, body), "AADSTS90002") {
		t.Errorf("unknown tenant: %d %s", resp.StatusCode, body)
	}
	resp, body = v.do(t, http.MethodGet, "/"+testTenant+"/discovery/v2.0/keys", "", nil)
	if keys, _ := jsonMap(t, body)["keys"].([]any); resp.StatusCode != 200 || len(keys) != 1 {
		t.Errorf("jwks: %d %s", resp.StatusCode, body)
	}
}

func TestAccessTokenClaims(t *testing.T) {
	v := newEnv(t)
	app := v.app(t, "app-c", App{GraphRoles: []string{"SecurityAlert.Read.All"}})
	claims := func(tok string) map[string]any {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			t.Fatalf("not a JWT: %s", tok)
		}
		b, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	g := claims(v.token(t, "app-c", graphScope))
	if g["aud"] != "https://graph.microsoft.com" || g["tid"] != testTenant || g["appid"] != "app-c" || g["oid"] != app.ObjectID || g["ver"] != "1.0" {
		t.Errorf("graph claims %v", g)
	}
	if roles, _ := g["roles"].([]any); len(roles) != 1 || roles[0] != "SecurityAlert.Read.All" {
		t.Errorf("graph roles %v", g["roles"])
	}
	if exp, _ := g["exp"].(float64); int64(exp) != v.clk.Now().Add(3599*time.Second).Unix() {
		t.Errorf("exp %v, want clock+3599s", g["exp"])
	}
	a := claims(v.token(t, "app-c", armScope))
	if a["aud"] != "https://management.azure.com" || a["roles"] != nil {
		t.Errorf("arm claims %v", a)
	}
}
