package azureemu

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFaultInjection(t *testing.T) {
	v := newEnv(t)
	v.app(t, "app", App{GraphRoles: []string{"SecurityIncident.Read.All"}, ARMRoles: map[string][]string{wsPath(): {"Microsoft Sentinel Reader"}}})
	graphTok, armTok := v.token(t, "app", graphScope), v.token(t, "app", armScope)
	type step struct {
		method, path, token string
		status              int
		code, retryAfter    string
	}
	cases := []struct {
		name  string
		rule  FailRule
		steps []step
	}{
		{"graph 429 once", FailRule{PathContains: "/security/incidents", Status: 429, RetryAfter: "2.5"}, []step{
			{"GET", "/v1.0/security/incidents", graphTok, 429, "TooManyRequests", "2.5"},
			{"GET", "/v1.0/security/incidents", graphTok, 200, "", ""},
		}},
		{"arm 503 twice", FailRule{PathContains: "Microsoft.SecurityInsights", Status: 503, Times: 2}, []step{
			{"GET", incidentsPath() + apiV, armTok, 503, "ServiceUnavailable", ""},
			{"GET", incidentsPath() + apiV, armTok, 503, "ServiceUnavailable", ""},
			{"GET", incidentsPath() + apiV, armTok, 200, "", ""},
		}},
		{"arm 429", FailRule{PathContains: "/incidents", Status: 429, RetryAfter: "1"}, []step{
			{"GET", incidentsPath() + apiV, armTok, 429, "TooManyRequests", "1"},
		}},
		{"method filter", FailRule{Method: "PATCH", Status: 500}, []step{
			{"GET", "/v1.0/security/incidents", graphTok, 200, "", ""},
			{"PATCH", "/v1.0/security/incidents/1", graphTok, 500, "generalException", ""},
		}},
		{"entra 503", FailRule{PathContains: "/oauth2/", Status: 503}, []step{
			{"POST", "/" + testTenant + "/oauth2/v2.0/token", "", 503, "temporarily_unavailable", ""},
		}},
		{"401 expired", FailRule{PathContains: "/v1.0/", Status: 401}, []step{
			{"GET", "/v1.0/security/incidents", graphTok, 401, "InvalidAuthenticationToken", ""},
		}},
		{"custom body", FailRule{Status: 500, Body: `{"error":{"code":"Custom","message":"boom"}}`}, []step{
			{"GET", "/v1.0/security/incidents", graphTok, 500, "Custom", ""},
		}},
		{"data collector 429", FailRule{PathContains: "/api/logs", Status: 429}, []step{
			{"POST", "/api/logs?api-version=2016-04-01", "", 429, "TooManyRequests", ""},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v.emu.ClearFaults()
			v.emu.Fail(tc.rule)
			for i, s := range tc.steps {
				var resp *http.Response
				var body []byte
				if strings.Contains(s.path, "/oauth2/") {
					resp, body = v.form(t, s.path, url.Values{"grant_type": {"client_credentials"}})
				} else {
					resp, body = v.do(t, s.method, s.path, s.token, nil)
				}
				if resp.StatusCode != s.status {
					t.Fatalf("step %d: %d %s, want %d", i, resp.StatusCode, body, s.status)
				}
				if s.code != "" && errCode(t, body) != s.code {
					t.Fatalf("step %d: body %s, want code %s", i, body, s.code)
				}
				if resp.Header.Get("Retry-After") != s.retryAfter {
					t.Fatalf("step %d: Retry-After %q, want %q", i, resp.Header.Get("Retry-After"), s.retryAfter)
				}
			}
		})
	}
}

func TestExpireTokens(t *testing.T) {
	v := newEnv(t)
	v.app(t, "app", App{
		GraphRoles: []string{"SecurityIncident.Read.All"}, IngestionRoles: []string{"dcr-1"},
		ARMRoles: map[string][]string{wsPath(): {"Microsoft Sentinel Reader"}},
	})
	if err := v.emu.AddDCR(DCR{ImmutableID: "dcr-1", Streams: map[string]string{"Custom-X": "X_CL"}}); err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		scope, method, path string
		body                any
	}{
		{graphScope, "GET", "/v1.0/security/incidents", nil},
		{armScope, "GET", incidentsPath() + apiV, nil},
		{laScope, "POST", queryPath, map[string]any{"query": "print 1"}},
		{monScope, "POST", "/dataCollectionRules/dcr-1/streams/Custom-X?api-version=2023-01-01", []any{map[string]any{"a": 1}}},
	}
	old := map[string]string{}
	for _, c := range calls {
		old[c.scope] = v.token(t, "app", c.scope)
	}
	v.emu.ExpireTokens()
	for _, c := range calls {
		t.Run(c.scope, func(t *testing.T) {
			r, body := v.do(t, c.method, c.path, old[c.scope], c.body)
			if r.StatusCode != 401 || errCode(t, body) != "InvalidAuthenticationToken" || errMessage(t, body) != "Access token has expired." {
				t.Fatalf("old token: %d %s", r.StatusCode, body)
			}
			if r, body := v.do(t, c.method, c.path, v.token(t, "app", c.scope), c.body); r.StatusCode >= 300 {
				t.Fatalf("new token: %d %s", r.StatusCode, body)
			}
		})
	}
}

func TestRequestLogAndHeaders(t *testing.T) {
	v := newEnv(t)
	v.app(t, "app", App{GraphRoles: []string{"SecurityIncident.Read.All"}})
	tok := v.token(t, "app", graphScope)
	v.emu.SetDelay(time.Millisecond)
	r, _ := v.do(t, http.MethodGet, "/v1.0/security/incidents?$top=5", tok, nil, "client-request-id", "abc")
	v.emu.SetDelay(0)
	if r.StatusCode != 200 {
		t.Fatalf("%d", r.StatusCode)
	}
	for _, h := range []string{"x-ms-request-id", "request-id", "Date"} {
		if r.Header.Get(h) == "" {
			t.Errorf("missing %s header", h)
		}
	}
	if r.Header.Get("client-request-id") != "abc" {
		t.Errorf("client-request-id not echoed")
	}
	if d, err := http.ParseTime(r.Header.Get("Date")); err != nil || !d.Equal(v.clk.Now()) {
		t.Errorf("Date %q should come from the emulator clock", r.Header.Get("Date"))
	}
	v.do(t, http.MethodGet, "/v1.0/security/incidents", "", nil)
	reqs := v.emu.Requests()
	if len(reqs) != 3 {
		t.Fatalf("requests %+v", reqs)
	}
	want := []Request{
		{API: APIEntra, Method: "POST", Path: "/" + testTenant + "/oauth2/v2.0/token", Status: 200, App: "app"},
		{API: APIGraph, Method: "GET", Path: "/v1.0/security/incidents", Query: "$top=5", Status: 200, App: "app"},
		{API: APIGraph, Method: "GET", Path: "/v1.0/security/incidents", Status: 401},
	}
	for i, w := range want {
		got := reqs[i]
		got.Time = time.Time{}
		if got != w {
			t.Errorf("request %d: %+v, want %+v", i, got, w)
		}
	}
	if r, _ := v.do(t, http.MethodGet, "/nowhere", "", nil); r.StatusCode != 404 {
		t.Errorf("unknown path: %d", r.StatusCode)
	}
}

func TestHandlerWithoutStart(t *testing.T) {
	emu := New(Options{})
	if emu.URL() != "" || emu.CACertPEM() != nil {
		t.Fatal("URL/cert before Start")
	}
	if emu.Handler() == nil {
		t.Fatal("no handler")
	}
	emu.Close() // no-op without Start
}
