package sentinel

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func TestQuery(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("POST /v1/workspaces/{id}/query", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"tables":[{"name":"PrimaryResult","columns":[{"name":"Category","type":"string"},{"name":"count_","type":"long"},{"name":"avg","type":"real"},{"name":"when","type":"datetime"},{"name":"d","type":"dynamic"}],
		  "rows":[["Administrative",9007199254740993,1.5,"2026-03-04T08:00:00Z","{\"a\":1}"],["Recommendation",122,null,null,null]]}]}`)
	})
	c, _ := f.client()
	tab, err := c.Query(context.Background(), testWSID, "AzureActivity | summarize count() by Category", "PT24H")
	if err != nil {
		t.Fatal(err)
	}
	if tab.Name != "PrimaryResult" || len(tab.Columns) != 5 || tab.Columns[1] != (Column{"count_", "long"}) || len(tab.Rows) != 2 || tab.Partial != nil {
		t.Fatalf("table = %+v", tab)
	}
	if n, ok := tab.Rows[0][1].(json.Number); !ok || n.String() != "9007199254740993" {
		t.Errorf("big long = %#v, want the exact json.Number", tab.Rows[0][1])
	}
	if tab.Rows[1][2] != nil {
		t.Errorf("null = %#v", tab.Rows[1][2])
	}
	s := f.seen()[0]
	if s.Path != "/v1/workspaces/"+testWSID+"/query" || s.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %q", s.Path, s.Header.Get("Content-Type"))
	}
	if b := mustJSON(t, s.Body); b["query"] != "AzureActivity | summarize count() by Category" || b["timespan"] != "PT24H" {
		t.Errorf("body = %s", s.Body)
	}
}

func TestQueryEmptyAndPartial(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("POST /v1/workspaces/{id}/query", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(string(mustReadBody(r)), "Empty") {
			w.WriteHeader(204)
			return
		}
		writeJSON(w, 200, `{"tables":[{"name":"PrimaryResult","columns":[{"name":"x","type":"long"}],"rows":[[1]]}],
		  "error":{"code":"PartialError","message":"There were some errors when processing your query.","details":[{"code":"EngineError","message":"Query result set has exceeded the internal data size limit"}]}}`)
	})
	c, _ := f.client()
	tab, err := c.Query(context.Background(), testWSID, "Empty", "")
	if err != nil || tab.Name != "PrimaryResult" || len(tab.Rows) != 0 || len(tab.Columns) != 0 {
		t.Fatalf("204: %+v, %v", tab, err)
	}
	if b := mustJSON(t, f.seen()[0].Body); b["timespan"] != nil {
		t.Errorf("an empty timespan was sent: %s", f.seen()[0].Body)
	}
	tab, err = c.Query(context.Background(), testWSID, "Big", "P1D")
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 1 || tab.Partial == nil || tab.Partial.Code != "PartialError" ||
		!strings.Contains(tab.Partial.Error(), "exceeded the internal data size limit") {
		t.Errorf("partial = %+v / %v", tab, tab.Partial)
	}
	if _, err := c.Query(context.Background(), "soc-ws", "x", ""); err == nil || !strings.Contains(err.Error(), "must be a GUID") {
		t.Errorf("name instead of id: %v", err)
	}
}

func mustReadBody(r *http.Request) []byte {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return []byte(b.String())
		}
	}
}

func TestUploadSmallBatch(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("POST /dataCollectionRules/{dcr}/streams/{stream}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	c, _ := f.client()
	recs := []map[string]any{{"TimeGenerated": "2026-03-04T08:00:00Z", "Event": "ack"}}
	if err := c.Upload(context.Background(), f.srv.URL+"/", "dcr-abc", "Custom-Lastmile_CL", recs); err != nil {
		t.Fatal(err)
	}
	s := f.seen()[0]
	if s.Path != "/dataCollectionRules/dcr-abc/streams/Custom-Lastmile_CL" || s.Query.Get("api-version") != "2023-01-01" ||
		s.Header.Get("Content-Encoding") != "" || string(s.Body) != `[{"Event":"ack","TimeGenerated":"2026-03-04T08:00:00Z"}]` {
		t.Errorf("request %s?%v enc %q body %s", s.Path, s.Query, s.Header.Get("Content-Encoding"), s.Body)
	}
	f.mu.Lock()
	scope := f.tokenForms[0].Get("scope")
	f.mu.Unlock()
	if !strings.HasPrefix(scope, "https://monitor.azure.com//.default") {
		t.Errorf("token scope = %q", scope)
	}
}

func TestUploadSplitsAndCompressesLargeBatches(t *testing.T) {
	f := newFakeAzure(t)
	f.handle("POST /dataCollectionRules/{dcr}/streams/{stream}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	c, _ := f.client()
	var recs []map[string]any
	pad := strings.Repeat("p", 900)
	for i := range 3000 { // about 2.8 MB of JSON
		recs = append(recs, map[string]any{"N": i, "Pad": pad})
	}
	if err := c.Upload(context.Background(), f.srv.URL, "dcr-abc", "Custom-Big", recs); err != nil {
		t.Fatal(err)
	}
	reqs := f.seen()
	if len(reqs) != 3 {
		t.Fatalf("calls = %d, want 3 of at most 1 MB", len(reqs))
	}
	next := 0
	for i, r := range reqs {
		if len(r.Body) > maxIngestBatch {
			t.Errorf("call %d carries %d bytes uncompressed", i, len(r.Body))
		}
		if r.Header.Get("Content-Encoding") != "gzip" || r.RawLen >= len(r.Body) {
			t.Errorf("call %d: encoding %q, %d bytes sent for %d", i, r.Header.Get("Content-Encoding"), r.RawLen, len(r.Body))
		}
		var got []struct{ N int }
		if err := json.Unmarshal(r.Body, &got); err != nil {
			t.Fatalf("call %d body: %v", i, err)
		}
		for _, g := range got {
			if g.N != next {
				t.Fatalf("record %d arrived as %d: lost or repeated", next, g.N)
			}
			next++
		}
	}
	if next != len(recs) {
		t.Errorf("records arrived = %d, want %d", next, len(recs))
	}
	huge := []map[string]any{{"Pad": strings.Repeat("x", maxIngestBatch)}}
	if err := c.Upload(context.Background(), f.srv.URL, "dcr-abc", "Custom-Big", huge); err == nil || !strings.Contains(err.Error(), "more than a call may carry") {
		t.Errorf("huge record: %v", err)
	}
}

// referenceSignature is the reference's buildSignature, verbatim in
// behaviour: the connector's must agree with it.
func referenceSignature(workspaceID, sharedKeyB64, date string, contentLength int, contentType string) (string, error) {
	key, err := base64.StdEncoding.DecodeString(sharedKeyB64)
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("POST\n%d\n%s\nx-ms-date:%s\n/api/logs", contentLength, contentType, date)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msg))
	return "SharedKey " + workspaceID + ":" + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

func TestDataCollectorSignature(t *testing.T) {
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	// Fixed inputs, fixed answer: guards against both sides drifting.
	got := dataCollectorAuth(testWSID, []byte("0123456789abcdef0123456789abcdef"), "Mon, 04 Apr 2016 08:00:00 GMT", 1024, "application/json")
	want, err := referenceSignature(testWSID, key, "Mon, 04 Apr 2016 08:00:00 GMT", 1024, "application/json")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
	if got != "SharedKey "+testWSID+":"+fixedSignature {
		t.Errorf("signature = %s, want the fixed %s", got, fixedSignature)
	}
}

// fixedSignature is HMAC-SHA256 of "POST\n1024\napplication/json\nx-ms-date:Mon, 04 Apr 2016 08:00:00 GMT\n/api/logs"
// keyed by "0123456789abcdef0123456789abcdef", base64, as computed apart by
// printf '…' | openssl dgst -sha256 -hmac KEY -binary | base64.
const fixedSignature = "rMoVf9OAAVQU+RTRgO9GQOxWZzlOmtlVQV6VV5+bUg0="

func TestPostDataCollector(t *testing.T) {
	f := newFakeAzure(t)
	key := base64.StdEncoding.EncodeToString([]byte("workspace-shared-key"))
	f.handle("POST /api/logs", func(w http.ResponseWriter, r *http.Request) {
		body := mustReadBody(r)
		want, _ := referenceSignature(testWSID, key, r.Header.Get("x-ms-date"), len(body), r.Header.Get("Content-Type"))
		if !hmac.Equal([]byte(r.Header.Get("Authorization")), []byte(want)) || r.Header.Get("Content-Length") != "" && r.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			writeJSON(w, 403, `{"Error":"InvalidAuthorization","Message":"An invalid signature was specified in the Authorization header"}`)
			return
		}
		w.WriteHeader(200)
	})
	c, _ := f.client()
	recs := []map[string]any{{"AlertId": "a1", "Status": "acknowledged", "When": "2026-03-04T08:00:00Z"}}
	if err := c.PostDataCollector(context.Background(), f.srv.URL, testWSID, key, "SIGNL4", recs, "When"); err != nil {
		t.Fatal(err)
	}
	s := f.seen()[0]
	if s.Query.Get("api-version") != "2016-04-01" || s.Header.Get("Log-Type") != "SIGNL4" || s.Header.Get("time-generated-field") != "When" ||
		s.Header.Get("x-ms-date") != "Wed, 04 Mar 2026 08:00:00 GMT" || s.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request ?%v headers %v", s.Query, s.Header)
	}
	if s.Header.Get("Authorization") == "" || strings.Contains(s.Header.Get("Authorization"), "Bearer") {
		t.Errorf("Authorization = %q, want SharedKey only", s.Header.Get("Authorization"))
	}
	for _, bad := range []struct{ ws, key, logType, want string }{
		{"soc-ws", key, "SIGNL4", "must be a GUID"},
		{testWSID, "not base64!", "SIGNL4", "not base64"},
		{testWSID, key, "SIGNL-4", "log type"},
	} {
		if err := c.PostDataCollector(context.Background(), f.srv.URL, bad.ws, bad.key, bad.logType, recs, ""); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: err = %v", bad, err)
		}
	}
	if DataCollectorURL(testWSID) != "https://"+testWSID+".ods.opinsights.azure.com" {
		t.Errorf("default URL = %s", DataCollectorURL(testWSID))
	}
}
