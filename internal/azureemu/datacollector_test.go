package azureemu

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDataCollector(t *testing.T) {
	v := newEnv(t)
	now := v.clk.Now()
	at := now.Add(-time.Hour)
	body := `[{"AlertId":"6f1d4c1e-8f5e-4a8e-9f0e-2b1c3d4e5f60","Title":"Disk full","Count":3,"Acked":true,"At":"` + at.Format(time.RFC3339) + `","Team":null,"Meta":{"k":"v"}}]`
	date := now.Format(http.TimeFormat)
	sign := func(date, ct, b string) string {
		s, err := SignDataCollector(testWSID, v.ws.SharedKey, date, ct, len(b))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	type req struct {
		name, path, body, ct, logType, date, auth string
		status                                    int
		code                                      string
	}
	ok := req{path: "/api/logs?api-version=2016-04-01", body: body, ct: "application/json", logType: "LastmileAlerts", date: date, status: 200}
	ok.auth = sign(date, ok.ct, body)
	mod := func(name string, f func(r *req), status int, code string) req {
		r := ok
		r.name, r.status, r.code = name, status, code
		f(&r)
		return r
	}
	cases := []req{
		mod("ok", func(*req) {}, 200, ""),
		mod("charset signed as sent", func(r *req) { r.ct = "application/json; charset=utf-8"; r.auth = sign(date, r.ct, body) }, 200, ""),
		mod("charset sent, plain signed", func(r *req) { r.ct = "application/json; charset=utf-8" }, 403, "InvalidAuthorization"),
		mod("wrong key", func(r *req) {
			s, _ := SignDataCollector(testWSID, "AAAA", date, r.ct, len(body))
			r.auth = s
		}, 403, "InvalidAuthorization"),
		// The signature covers the body's length, not its bytes.
		mod("same-length body change", func(r *req) { r.body = strings.Replace(body, "Disk", "Dusk", 1) }, 200, ""),
		mod("length differs", func(r *req) { r.auth = sign(date, r.ct, body+" ") }, 403, "InvalidAuthorization"),
		mod("bearer scheme", func(r *req) { r.auth = "Bearer x" }, 403, "InvalidAuthorization"),
		mod("date skew", func(r *req) {
			r.date = now.Add(-16 * time.Minute).Format(http.TimeFormat)
			r.auth = sign(r.date, r.ct, body)
		}, 403, "InvalidAuthorization"),
		mod("date within skew", func(r *req) {
			r.date = now.Add(14 * time.Minute).Format(http.TimeFormat)
			r.auth = sign(r.date, r.ct, body)
		}, 200, ""),
		mod("date format", func(r *req) { r.date = now.Format(time.RFC3339); r.auth = sign(r.date, r.ct, body) }, 403, "InvalidAuthorization"),
		mod("no log type", func(r *req) { r.logType = "" }, 400, "MissingLogType"),
		mod("bad log type", func(r *req) { r.logType = "lastmile-alerts" }, 400, "InvalidLogType"),
		mod("long log type", func(r *req) { r.logType = strings.Repeat("a", 101) }, 400, "InvalidLogType"),
		mod("no content type", func(r *req) { r.ct = "" }, 400, "MissingContentType"),
		mod("text content type", func(r *req) { r.ct = "text/plain"; r.auth = sign(date, r.ct, body) }, 400, "UnsupportedContentType"),
		mod("no api-version", func(r *req) { r.path = "/api/logs" }, 400, "MissingApiVersion"),
		mod("wrong api-version", func(r *req) { r.path = "/api/logs?api-version=2020-01-01" }, 400, "InvalidApiVersion"),
		mod("unknown workspace", func(r *req) { r.auth = strings.Replace(r.auth, testWSID, "00000000-0000-0000-0000-0000000000ff", 1) }, 400, "InvalidCustomerId"),
		mod("not an array", func(r *req) { r.body = `{"a":1}`; r.auth = sign(date, r.ct, r.body) }, 400, "InvalidDataFormat"),
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, got := v.do(t, http.MethodPost, tc.path, "", tc.body,
				"Content-Type", tc.ct, "Log-Type", tc.logType, "x-ms-date", tc.date, "Authorization", tc.auth,
				"time-generated-field", "At")
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, got, tc.status)
			}
			if tc.code != "" {
				m := jsonMap(t, got)
				if m["Error"] != tc.code || m["Message"] == "" {
					t.Fatalf("body %s, want Error %s", got, tc.code)
				}
			}
		})
	}
	rows, _ := v.emu.Rows(testWSID, "LastmileAlerts_CL")
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	r := rows[0]
	if r["AlertId_g"] != "6f1d4c1e-8f5e-4a8e-9f0e-2b1c3d4e5f60" || r["Title_s"] != "Disk full" || r["Count_d"] != float64(3) ||
		r["Acked_b"] != true || r["Meta_s"] != `{"k":"v"}` || r["At_t"] == nil {
		t.Errorf("suffixed columns %v", r)
	}
	if _, ok := r["Team_s"]; ok {
		t.Error("null property should be dropped")
	}
	if tg := r["TimeGenerated"].(time.Time); !tg.Equal(at) {
		t.Errorf("TimeGenerated %v, want the time-generated-field value %v", tg, at)
	}
}
