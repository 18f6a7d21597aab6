package sentinel

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// scripted answers with the given statuses in turn, then 200 with body.
func scripted(statuses []int, header http.Header, errBody, body string) (http.HandlerFunc, *atomic.Int32) {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			for k, vs := range header {
				w.Header()[k] = vs
			}
			writeJSON(w, statuses[i], errBody)
			return
		}
		writeJSON(w, 200, body)
	}, &n
}

const okIncident = `{"name":"a","etag":"\"1\"","properties":{"title":"t","severity":"Low","status":"New"}}`

func TestRetryAfterHonoured(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"seconds", "10", 10 * time.Second},
		{"fractional seconds", "2.128", 2128 * time.Millisecond},
		{"http date", testNow.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{"capped", "3600", 60 * time.Second},
		{"date in the past", testNow.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAzure(t)
			h, n := scripted([]int{429}, http.Header{"Retry-After": {tt.value}},
				`{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`, okIncident)
			f.handle("GET "+incidentsPath+"/{id}", h)
			c, s := f.client()
			if _, err := c.GetIncident(context.Background(), "a"); err != nil {
				t.Fatal(err)
			}
			if n.Load() != 2 {
				t.Errorf("requests = %d, want 2", n.Load())
			}
			if w := s.all(); len(w) != 1 || w[0] != tt.want {
				t.Errorf("waits = %v, want [%v]", w, tt.want)
			}
		})
	}
}

func TestRetryAfterMillisecondHeaders(t *testing.T) {
	f := newFakeAzure(t)
	h, _ := scripted([]int{429}, http.Header{"X-Ms-Retry-After-Ms": {"1500"}, "Retry-After": {"9"}}, `{}`, okIncident)
	f.handle("GET "+incidentsPath+"/{id}", h)
	c, s := f.client()
	if _, err := c.GetIncident(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if w := s.all(); len(w) != 1 || w[0] != 1500*time.Millisecond {
		t.Errorf("waits = %v, want [1.5s]", w)
	}
}

func TestServerErrorsRetriedThenSurfaced(t *testing.T) {
	f := newFakeAzure(t)
	h, n := scripted([]int{503, 503, 503, 503, 503}, nil, `{"error":{"code":"ServiceUnavailable","message":"The service is busy."}}`, okIncident)
	f.handle("GET "+incidentsPath+"/{id}", h)
	c, s := f.client()
	_, err := c.GetIncident(context.Background(), "a")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 {
		t.Fatalf("err = %v, want a 503 *APIError", err)
	}
	if n.Load() != maxTries {
		t.Errorf("requests = %d, want %d", n.Load(), maxTries)
	}
	waits := s.all()
	if len(waits) != maxTries-1 {
		t.Fatalf("waits = %v, want %d", waits, maxTries-1)
	}
	for i, w := range waits {
		full := baseBackoff << i
		if w < full/2 || w > full {
			t.Errorf("wait %d = %v, want between %v and %v", i, w, full/2, full)
		}
	}
	want := "Sentinel failed to read incident a: The service is busy. (503 ServiceUnavailable, after 4 tries)"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

func TestServerErrorThenSuccess(t *testing.T) {
	for _, status := range []int{500, 502, 504} {
		f := newFakeAzure(t)
		h, n := scripted([]int{status}, nil, `{}`, okIncident)
		f.handle("GET "+incidentsPath+"/{id}", h)
		c, _ := f.client()
		if _, err := c.GetIncident(context.Background(), "a"); err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		if n.Load() != 2 {
			t.Errorf("%d: requests = %d, want 2", status, n.Load())
		}
	}
}

func TestPostNotRepeatedAfterAmbiguousFailure(t *testing.T) {
	f := newFakeAzure(t)
	h, n := scripted([]int{500, 500}, nil, `{"error":{"code":"InternalServerError","message":"boom"}}`, `{"value":[]}`)
	f.handle("POST /v1.0/security/incidents/{id}/comments", h)
	c, s := f.client()
	err := c.CommentGraphIncident(context.Background(), "7", "hello")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 500 {
		t.Fatalf("err = %v, want a 500 *APIError", err)
	}
	if n.Load() != 1 || len(s.all()) != 0 {
		t.Errorf("requests = %d, waits = %v: a POST that may have been applied must not be repeated", n.Load(), s.all())
	}
	// 429 is answered before acting: that is retried.
	h2, n2 := scripted([]int{429}, http.Header{"Retry-After": {"1"}}, `{}`, `{"value":[]}`)
	f.handle("POST /v1.0/security/alerts_v2/{id}/comments", h2)
	if err := c.CommentAlertV2(context.Background(), "9", "hello"); err != nil {
		t.Fatal(err)
	}
	if n2.Load() != 2 {
		t.Errorf("requests after 429 = %d, want 2", n2.Load())
	}
}

func TestExpiredTokenReplacedOnce(t *testing.T) {
	f := newFakeAzure(t)
	f.validTokens = map[string]bool{}
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, okIncident) })
	c, s := f.client()
	ctx := context.Background()
	if _, err := c.GetIncident(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	// The service revokes every token issued so far.
	f.mu.Lock()
	f.validTokens = map[string]bool{}
	f.mu.Unlock()
	if _, err := c.GetIncident(ctx, "a"); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := f.tokens(); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
	f.mu.Lock()
	claims := f.tokenForms[1].Get("claims")
	f.mu.Unlock()
	if !strings.Contains(claims, `"nbf"`) {
		t.Errorf("second token request claims = %q, want the nbf challenge that skips the cache", claims)
	}
	// The new token is cached and used from now on.
	if _, err := c.GetIncident(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n := f.tokens(); n != 2 {
		t.Errorf("token requests = %d after a third call, want still 2", n)
	}
	if len(s.all()) != 0 {
		t.Errorf("waits = %v, want none for a token refresh", s.all())
	}
}

func TestUnauthorizedTwiceSurfaces(t *testing.T) {
	f := newFakeAzure(t)
	var n atomic.Int32
	f.handle("GET /v1.0/security/alerts_v2", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 401, `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired.","innerError":{"date":"2026-03-04T08:00:00","request-id":"r1"}}}`)
	})
	c, _ := f.client()
	_, err := c.ListAlertsV2(context.Background(), time.Time{}, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("err = %v, want a 401 *APIError", err)
	}
	if n.Load() != 2 {
		t.Errorf("requests = %d, want 2 (one retry with a fresh token)", n.Load())
	}
	want := "Graph rejected the app's token: Access token has expired. (401 InvalidAuthenticationToken)"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}

func TestContextCancelStopsRetrying(t *testing.T) {
	f := newFakeAzure(t)
	h, n := scripted([]int{503, 503, 503, 503}, nil, `{}`, okIncident)
	f.handle("GET "+incidentsPath+"/{id}", h)
	c, _ := f.client()
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	_, err := c.GetIncident(ctx, "a")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n.Load() != 1 {
		t.Errorf("requests = %d, want 1", n.Load())
	}
}

func TestParseRetryAfter(t *testing.T) {
	for _, v := range []string{"", "soon", "-3"} {
		if d, ok := parseRetryAfter(v, testNow); ok {
			t.Errorf("parseRetryAfter(%q) = %v, true; want not ok", v, d)
		}
	}
}

func TestBodyBounded(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"name":"a","properties":{"description":"`))
		_, _ = w.Write([]byte(strings.Repeat("x", defaultMaxBody)))
		_, _ = w.Write([]byte(`"}}`))
	})
	c, _ := f.client()
	_, err := c.GetIncident(context.Background(), "a")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want the answer refused as too large", err)
	}
}

func TestDroppedConnectionRetriedForReads(t *testing.T) {
	f := newFakeAzure(t)
	var n atomic.Int32
	drop := func(w http.ResponseWriter, r *http.Request) bool {
		if n.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return true
		}
		return false
	}
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !drop(w, r) {
			writeJSON(w, 200, okIncident)
		}
	})
	c, s := f.client()
	if _, err := c.GetIncident(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	// net/http may retry the GET itself on a fresh connection; either
	// way the read succeeds on the second request.
	if n.Load() != 2 || len(s.all()) > 1 {
		t.Errorf("requests = %d, waits = %v; want 2 and at most one wait", n.Load(), s.all())
	}
	// A POST is not repeated: it may have been applied.
	n.Store(0)
	f.handle("POST /v1.0/security/incidents/{id}/comments", func(w http.ResponseWriter, r *http.Request) {
		if !drop(w, r) {
			writeJSON(w, 200, `{"value":[]}`)
		}
	})
	err := c.CommentGraphIncident(context.Background(), "1", "x")
	if err == nil || !strings.Contains(err.Error(), "Graph is unreachable") || n.Load() != 1 {
		t.Errorf("err = %v after %d requests", err, n.Load())
	}
}

func TestUnreachableReadRetriedThenSurfaced(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("GET "+incidentsPath+"/{id}", func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
	})
	c, s := f.client()
	_, err := c.GetIncident(context.Background(), "a")
	if err == nil || !strings.Contains(err.Error(), "Sentinel is unreachable") || !strings.Contains(err.Error(), "after 4 tries") {
		t.Fatalf("err = %v", err)
	}
	if len(s.all()) != maxTries-1 {
		t.Errorf("waits = %v, want %d", s.all(), maxTries-1)
	}
}

func TestChallengeClaims(t *testing.T) {
	claims := `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	enc := base64.StdEncoding.EncodeToString([]byte(claims))
	tests := []struct{ header, want string }{
		{`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="` + enc + `"`, claims},
		{`Bearer authorization_uri="https://x/", error="invalid_token", error_description="Access token has expired."`, ""},
		{`Bearer claims="not-base64!"`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		if got := challengeClaims(tt.header); got != tt.want {
			t.Errorf("challengeClaims(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

func TestClaimsChallengePassedToEntra(t *testing.T) {
	f := newFakeAzure(t)
	claims := `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	h, _ := scripted([]int{401}, http.Header{"Www-Authenticate": {`Bearer error="insufficient_claims", claims="` + base64.StdEncoding.EncodeToString([]byte(claims)) + `"`}},
		`{"error":{"code":"InvalidAuthenticationToken","message":"Continuous access evaluation resulted in challenge."}}`, okIncident)
	f.handle("GET "+incidentsPath+"/{id}", h)
	c, _ := f.client()
	if _, err := c.GetIncident(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tokenForms) != 2 || !strings.Contains(f.tokenForms[1].Get("claims"), `"value":"1700000000"`) {
		t.Errorf("token requests = %v, want the second to carry the service's claims", f.tokenForms)
	}
}
