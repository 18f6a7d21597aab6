package azureemu

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	dcrID     = "dcr-00000000000000000000000000000001"
	streamURL = "/dataCollectionRules/" + dcrID + "/streams/Custom-LastmileAudit?api-version=2023-01-01"
)

func ingestionEnv(t *testing.T) *env {
	t.Helper()
	v := newEnv(t)
	if err := v.emu.AddDCR(DCR{ImmutableID: dcrID, Streams: map[string]string{"Custom-LastmileAudit": "LastmileAudit_CL"}}); err != nil {
		t.Fatal(err)
	}
	v.app(t, "publisher", App{IngestionRoles: []string{dcrID}, ARMRoles: map[string][]string{wsPath(): {"Log Analytics Reader"}}})
	v.app(t, "nobody", App{})
	return v
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLogsIngestion(t *testing.T) {
	v := ingestionEnv(t)
	good := `[{"AlertId":"a1","Action":"acknowledged","Count":2},{"AlertId":"a2","Action":"closed","TimeGenerated":"2026-01-01T00:00:00Z"}]`
	pub := v.token(t, "publisher", monScope)
	cases := []struct {
		name, url, token string
		body             any
		hdr              []string
		status           int
		code             string
	}{
		{name: "ok", url: streamURL, token: pub, body: good, status: 204},
		{name: "single-slash audience", url: streamURL, token: v.token(t, "publisher", "https://monitor.azure.com/.default"), body: `[{"AlertId":"a3"}]`, status: 204},
		{name: "gzip", url: streamURL, token: pub, body: gz(t, `[{"AlertId":"a4"}]`), hdr: []string{"Content-Encoding", "gzip"}, status: 204},
		{name: "no token", url: streamURL, body: good, status: 401},
		{name: "graph audience", url: streamURL, token: v.token(t, "publisher", graphScope), body: good, status: 401, code: "InvalidAuthenticationTokenAudience"},
		{name: "no role", url: streamURL, token: v.token(t, "nobody", monScope), body: good, status: 403, code: "OperationFailed"},
		{name: "object not array", url: streamURL, token: pub, body: `{"AlertId":"a"}`, status: 400, code: "InvalidPayload"},
		{name: "array of scalars", url: streamURL, token: pub, body: `[1,2]`, status: 400, code: "InvalidPayload"},
		{name: "bad gzip", url: streamURL, token: pub, body: "not gzip", hdr: []string{"Content-Encoding", "gzip"}, status: 400},
		{name: "unknown dcr", url: "/dataCollectionRules/dcr-nope/streams/Custom-LastmileAudit?api-version=2023-01-01", token: pub, body: good, status: 404},
		{name: "unknown stream", url: "/dataCollectionRules/" + dcrID + "/streams/Custom-Other?api-version=2023-01-01", token: pub, body: good, status: 400, code: "InvalidStream"},
		{name: "api-version", url: strings.Replace(streamURL, "2023-01-01", "2021-11-01-preview", 1), token: pub, body: good, status: 400},
		{name: "too large", url: streamURL, token: pub, body: "[" + strings.Repeat(`{"x":"y"},`, 120000) + `{"x":"y"}]`, status: 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, body := v.do(t, http.MethodPost, tc.url, tc.token, tc.body, tc.hdr...)
			if r.StatusCode != tc.status || (tc.code != "" && errCode(t, body) != tc.code) {
				t.Fatalf("%d %s", r.StatusCode, body)
			}
			if tc.code != "" && r.Header.Get("x-ms-error-code") != tc.code {
				t.Errorf("x-ms-error-code %q", r.Header.Get("x-ms-error-code"))
			}
		})
	}
	rows, err := v.emu.Rows(testWSName, "LastmileAudit_CL")
	if err != nil || len(rows) != 4 {
		t.Fatalf("rows %v %v", rows, err)
	}
	if tg, ok := rows[0]["TimeGenerated"].(time.Time); !ok || !tg.Equal(v.clk.Now()) || rows[0]["Count"] != int64(2) {
		t.Errorf("row 0 %v", rows[0])
	}
	if tg := rows[1]["TimeGenerated"].(time.Time); !tg.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("given TimeGenerated not kept: %v", tg)
	}
	r, body := v.do(t, http.MethodPost, queryPath, v.token(t, "publisher", laScope), map[string]any{"query": `LastmileAudit_CL | where AlertId == "a4" | project AlertId`})
	if r.StatusCode != 200 || !strings.Contains(string(body), `"rows":[["a4"]]`) {
		t.Errorf("ingested rows not queryable: %d %s", r.StatusCode, body)
	}
}
