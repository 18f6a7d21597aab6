package httpapi_test

import (
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	e := sqliteEnv(t)
	e.sendJSON(`{"Title":"a","X-S4-ExternalID":"m1"}`)
	e.sendJSON(`{"Title":"a","X-S4-ExternalID":"m1"}`)
	e.send("application/json", `{"Title":`)
	r := e.do("GET", "/metrics", nil, nil)
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	body := string(r.body)
	for _, want := range []string{
		`lastmile_inbound_events_total{source="webhook",status="created"} 1`,
		`lastmile_inbound_events_total{source="webhook",status="updated"} 1`,
		`lastmile_inbound_events_total{source="webhook",status="rejected"} 1`,
		`lastmile_http_request_duration_seconds_count{code="201",method="POST",route="POST /webhook/{secret}"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, e.secret) {
		t.Fatal("metrics contain the team secret")
	}
}
