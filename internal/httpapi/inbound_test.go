package httpapi_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"testing"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/httpapi"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

func TestEveryBodyFormat(t *testing.T) {
	e := sqliteEnv(t)
	cases := []struct {
		name, contentType, body string
		title, text             string
		params                  map[string]string
	}{
		{"json", "application/json", `{"Title":"Disk full","Message":"99%","Business Details":{"Impact":"Major"},"Count":1.50,"Big":12345678901234567890}`,
			"Disk full", "99%", map[string]string{"Business Details.Impact": "Major", "Count": "1.50", "Big": "12345678901234567890"}},
		{"form", "application/x-www-form-urlencoded", "Title=CPU+high&Message=at+97+%25&Gate=A45",
			"CPU high", "at 97 %", map[string]string{"Gate": "A45"}},
		{"xml", "application/xml", `<alert><title>Door open</title><message>Gate 4</message><site><name>HQ</name></site></alert>`,
			"Door open", "Gate 4", map[string]string{"site.name": "HQ"}},
		{"plain text", "text/plain", "Hello world.", ingest.FallbackTitle, "Hello world.", nil},
		{"json without content type", "", `{"subject":"No type","body":"sniffed"}`, "No type", "sniffed", nil},
		{"json sent as a form (curl -d)", "application/x-www-form-urlencoded", `{"title":"curl","text":"default type"}`, "curl", "default type", nil},
		{"windows-1252", "text/plain; charset=windows-1252", "Temperatur \xfcber 40\xb0", ingest.FallbackTitle, "Temperatur über 40°", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.send(c.contentType, c.body)
			if r.status != http.StatusCreated {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if id, _ := r.json(t)["eventId"].(string); id == "" {
				t.Fatalf("answer has no eventId: %s", r.body)
			}
			a := e.alert(r.header.Get("X-Lastmile-Alert-Id"))
			if a.Title != c.title || a.Text != c.text {
				t.Errorf("title %q text %q, want %q %q", a.Title, a.Text, c.title, c.text)
			}
			for n, v := range c.params {
				if got, _ := param(a, n); got != v {
					t.Errorf("param %s = %q, want %q", n, got, v)
				}
			}
		})
	}
}

func TestParametersKeepOrderAndSkipControlFields(t *testing.T) {
	e := sqliteEnv(t)
	_, id := e.sendJSON(`{"zeta":"1","Title":"T","alpha":{"b":2,"a":[true,null]},"X-S4-ExternalID":"x","mid":"m"}`)
	a := e.alert(id)
	var names []string
	for _, p := range a.Params {
		names = append(names, p.Name+"="+p.Value)
	}
	want := "zeta=1 alpha.b=2 alpha.a.0=true alpha.a.1= mid=m"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("params %q, want %q", got, want)
	}
}

func TestMultipartAttachmentRoundTrip(t *testing.T) {
	e := sqliteEnv(t)
	file := make([]byte, 100_000)
	rand.Read(file)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("Title", "Camera")
	mw.WriteField("Message", "Motion at gate")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="File"; filename="gate.jpg"`)
	h.Set("Content-Type", "image/jpeg")
	pw, _ := mw.CreatePart(h)
	pw.Write(file)
	mw.Close()
	r := e.send(mw.FormDataContentType(), buf.String())
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	a := e.alert(r.header.Get("X-Lastmile-Alert-Id"))
	if a.Title != "Camera" || len(a.Attachments) != 1 {
		t.Fatalf("alert %q with %d attachments", a.Title, len(a.Attachments))
	}
	att := a.Attachments[0]
	if att.Name != "gate.jpg" || att.ContentType != "image/jpeg" || att.Size != int64(len(file)) {
		t.Fatalf("attachment %+v", att)
	}
	dl := e.api("GET", "/api/v1/alerts/"+a.ID+"/attachments/"+att.ID, e.adminKey, nil)
	if dl.status != 200 || !bytes.Equal(dl.body, file) {
		t.Fatalf("download: status %d, %d bytes, equal %v", dl.status, len(dl.body), bytes.Equal(dl.body, file))
	}
	if dl.header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(dl.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download headers %v", dl.header)
	}
	ev := e.api("GET", "/api/v1/events/"+a.EventID+"/attachments/"+att.ID, e.adminKey, nil)
	if ev.status != 200 || !bytes.Equal(ev.body, file) {
		t.Fatalf("event attachment download: %d", ev.status)
	}
}

func TestControlFields(t *testing.T) {
	e := sqliteEnv(t)
	ctx := t.Context()
	if _, err := e.teams.CreateCategory(ctx, e.team.ID, team.NewCategory{Name: "Database", Keywords: []string{"postgres"}}); err != nil {
		t.Fatal(err)
	}
	t.Run("service location scenario source", func(t *testing.T) {
		_, id := e.sendJSON(`{"Title":"x","X-S4-Service":"database","X-S4-Location":"52.3984235, 13.0544149","X-S4-AlertingScenario":"multi_ack","X-S4-SourceSystem":"PRTG"}`)
		a := e.alert(id)
		if a.Category != "Database" || a.Location != "52.3984235,13.0544149" || a.Scenario != "multi_ack" || a.SourceSystem != "PRTG" {
			t.Fatalf("alert %+v", a)
		}
	})
	t.Run("X-S4-Subject is a title", func(t *testing.T) {
		_, id := e.sendJSON(`{"X-S4-Subject":"Pump 3 failed","description":"pressure low"}`)
		if a := e.alert(id); a.Title != "Pump 3 failed" || a.Text != "pressure low" || len(a.Params) != 0 {
			t.Fatalf("alert %+v", a)
		}
	})
	t.Run("keywords pick the category", func(t *testing.T) {
		_, id := e.sendJSON(`{"Title":"postgres replica lag"}`)
		if a := e.alert(id); a.Category != "Database" {
			t.Fatalf("category %q", a.Category)
		}
	})
	t.Run("emergency gets its category", func(t *testing.T) {
		_, id := e.sendJSON(`{"Title":"fire","X-S4-AlertingScenario":"emergency"}`)
		if a := e.alert(id); a.Category != "Emergency" || a.Scenario != "emergency" {
			t.Fatalf("alert %+v", a)
		}
	})
	t.Run("bad location and scenario are warnings, not losses", func(t *testing.T) {
		r := e.send("application/json", `{"Title":"x","X-S4-Location":"somewhere","X-S4-AlertingScenario":"panic"}`)
		if r.status != 201 {
			t.Fatalf("status %d", r.status)
		}
		a := e.alert(r.header.Get("X-Lastmile-Alert-Id"))
		if a.Location != "" || a.Scenario != team.ScenarioSingleAck {
			t.Fatalf("alert %+v", a)
		}
		ev := e.event(a.EventID)
		if !strings.Contains(string(ev.Parsed), "somewhere") || !strings.Contains(string(ev.Parsed), "panic") {
			t.Fatalf("warnings missing from the stored parse result: %s", ev.Parsed)
		}
	})
	t.Run("filtering", func(t *testing.T) {
		st, _ := e.sendJSON(`{"Title":"disk full","X-S4-Filtering":"true"}`)
		if st != alert.EventFiltered {
			t.Fatalf("unmatched filtered event: %s", st)
		}
		st, _ = e.sendJSON(`{"Title":"postgres down","X-S4-Filtering":true}`)
		if st != alert.EventCreated {
			t.Fatalf("matching filtered event: %s", st)
		}
		for _, off := range []string{`false`, `"false"`, `null`, `""`} {
			if st, _ = e.sendJSON(`{"Title":"disk full","X-S4-Filtering":` + off + `}`); st != alert.EventCreated {
				t.Fatalf("X-S4-Filtering %s: %s", off, st)
			}
		}
	})
	t.Run("headers stand in for missing body fields", func(t *testing.T) {
		r := e.do("POST", "/webhook/"+e.secret, strings.NewReader(`{"Title":"h"}`), map[string]string{"Content-Type": "application/json", "X-S4-ExternalID": "hdr-1", "X-S4-SourceSystem": "curl"})
		a := e.alert(r.header.Get("X-Lastmile-Alert-Id"))
		if a.ExternalID != "hdr-1" || a.SourceSystem != "curl" {
			t.Fatalf("alert %+v", a)
		}
	})
}

func TestStatusField(t *testing.T) {
	e := sqliteEnv(t)
	for _, empty := range []string{`""`, `null`, `"new"`, `"NEW"`} {
		st, _ := e.sendJSON(`{"Title":"a","X-S4-ExternalID":"s1","X-S4-Status":` + empty + `}`)
		if st != alert.EventCreated && st != alert.EventUpdated {
			t.Fatalf("status %s: event %s", empty, st)
		}
	}
	if n := len(e.listAlerts("?externalId=s1")); n != 1 {
		t.Fatalf("%d alerts for s1, want 1", n)
	}
	st, id := e.sendJSON(`{"X-S4-ExternalID":"s1","X-S4-Status":"Acknowledged"}`)
	if st != alert.EventUpdated || e.alert(id).Status != alert.StatusAcknowledged {
		t.Fatalf("acknowledge: %s %s", st, e.alert(id).Status)
	}
	if st, _ = e.sendJSON(`{"X-S4-ExternalID":"s1","X-S4-Status":"acknowledged"}`); st != alert.EventDiscarded {
		t.Fatalf("second acknowledge: %s", st)
	}
	if st, _ = e.sendJSON(`{"X-S4-ExternalID":"s1","X-S4-Status":"resolved"}`); st != alert.EventUpdated || e.alert(id).Status != alert.StatusClosed {
		t.Fatalf("resolve: %s", st)
	}
	if st, _ = e.sendJSON(`{"X-S4-ExternalID":"s1","X-S4-Status":"resolved"}`); st != alert.EventDiscarded {
		t.Fatalf("resolve of a closed alert: %s", st)
	}
	r := e.send("application/json", `{"Title":"b","X-S4-ExternalID":"s2","X-S4-Status":"updated"}`)
	if r.status != 201 || r.header.Get("X-Lastmile-Event-Status") != alert.EventDiscarded {
		t.Fatalf("unknown status: %d %s", r.status, r.header.Get("X-Lastmile-Event-Status"))
	}
	ev := e.event(r.json(t)["eventId"].(string))
	if ev.Reason == "" || ev.AlertID != "" {
		t.Fatalf("discarded event %+v", ev)
	}
	tl, err := e.alerts.Timeline(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, x := range tl {
		kinds = append(kinds, x.Kind+"/"+x.Actor.Type)
	}
	if got := strings.Join(kinds, " "); got != "created/event duplicate/event duplicate/event duplicate/event acknowledged/event closed/event" {
		t.Fatalf("timeline %s", got)
	}
}

func TestMappingParameters(t *testing.T) {
	e := sqliteEnv(t)
	q := "?extidparam=check.id&ExtStatusParam=State&ResolvedStatus=UP&AckStatus=pending"
	post := func(body string, query string) (string, string) {
		r := e.do("POST", "/webhook/"+e.secret+query, strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
		if r.status != 201 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		return r.header.Get("X-Lastmile-Event-Status"), r.header.Get("X-Lastmile-Alert-Id")
	}
	st, id := post(`{"Title":"web down","check":{"id":"c-7"},"State":"DOWN"}`, q)
	if st != alert.EventCreated || e.alert(id).ExternalID != "c-7" {
		t.Fatalf("new: %s", st)
	}
	if st, _ = post(`{"check":{"id":"c-7"},"state":"Pending"}`, q); st != alert.EventUpdated || e.alert(id).Status != alert.StatusAcknowledged {
		t.Fatalf("ack: %s %s", st, e.alert(id).Status)
	}
	if st, _ = post(`{"check":{"id":"c-7"},"State":"up"}`, q); st != alert.EventUpdated || e.alert(id).Status != alert.StatusClosed {
		t.Fatalf("resolve: %s", st)
	}
	withNew := q + "&NewStatus=DOWN"
	if st, _ = post(`{"Title":"flap","check":{"id":"c-8"},"State":"WARMING"}`, withNew); st != alert.EventDiscarded {
		t.Fatalf("NewStatus mismatch: %s", st)
	}
	if st, _ = post(`{"Title":"flap","check":{"id":"c-8"},"State":"down"}`, withNew); st != alert.EventCreated {
		t.Fatalf("NewStatus match: %s", st)
	}
	// An explicit X-S4-Status wins over the mapping.
	if st, _ = post(`{"check":{"id":"c-8"},"State":"DOWN","X-S4-Status":"resolved"}`, q); st != alert.EventUpdated {
		t.Fatalf("explicit status: %s", st)
	}
}

func TestInboundErrors(t *testing.T) {
	e := newEnvWith(t, store.SQLite, httpapi.Config{MaxBodyBytes: 8 << 20})
	cases := []struct {
		name, method, path, contentType, body string
		header                                map[string]string
		status                                int
		code                                  string
		stored                                bool
	}{
		{"unknown secret", "POST", "/webhook/nosuchsecret", "application/json", `{}`, nil, 404, "not_found", false},
		{"bad json", "POST", "/webhook/SECRET", "application/json", `{"Title": "x",`, nil, 400, "invalid", true},
		{"unsupported type", "POST", "/webhook/SECRET", "image/png", "\x89PNG", nil, 415, "unsupported", true},
		{"too large", "POST", "/webhook/SECRET", "text/plain", strings.Repeat("x", 9<<20), nil, 413, "too_large", true},
		{"get", "GET", "/webhook/SECRET", "", "", nil, 405, "method_not_allowed", false},
		{"v2 without key", "POST", "/api/v2/events/SECRET", "application/json", `{"Title":"x"}`, nil, 401, "unauthorized", true},
		{"v2 with bad key", "POST", "/api/v2/events/SECRET", "application/json", `{"Title":"x"}`, map[string]string{"X-S4-Api-Key": "lm_wrong"}, 401, "unauthorized", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(e.eventsWith("rejected"))
			h := map[string]string{"Content-Type": c.contentType}
			for k, v := range c.header {
				h[k] = v
			}
			r := e.do(c.method, strings.Replace(c.path, "SECRET", e.secret, 1), strings.NewReader(c.body), h)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			body := r.json(t)
			if body["code"] != c.code || body["message"] == "" || body["requestId"] == "" {
				t.Fatalf("error body %s", r.body)
			}
			if strings.Contains(string(r.body), e.secret) {
				t.Fatal("error body repeats the team secret")
			}
			if got := len(e.eventsWith("rejected")) - before; (got == 1) != c.stored {
				t.Fatalf("rejected events stored: %d, want stored=%v", got, c.stored)
			}
		})
	}
	t.Run("attachment over 4 MB", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("File", "big.bin")
		fw.Write(make([]byte, 4<<20+1))
		mw.Close()
		r := e.send(mw.FormDataContentType(), buf.String())
		if r.status != 413 || !strings.Contains(string(r.body), "big.bin") {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("v2 with a member's key", func(t *testing.T) {
		_, key := e.user("sender@example.com", e.team.ID, team.RoleResponder)
		r := e.do("POST", "/api/v2/events/"+e.secret, strings.NewReader(`{"Title":"via v2"}`), map[string]string{"Content-Type": "application/json", "X-S4-Api-Key": key})
		if r.status != 201 || e.alert(r.header.Get("X-Lastmile-Alert-Id")).Title != "via v2" {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		_, outsider := e.user("outsider@example.com", "", "")
		r = e.do("POST", "/api/v2/events/"+e.secret, strings.NewReader(`{"Title":"x"}`), map[string]string{"Content-Type": "application/json", "X-S4-Api-Key": outsider})
		if r.status != 403 {
			t.Fatalf("outsider status %d", r.status)
		}
	})
}

func (e *env) eventsWith(status string) []alert.Event {
	e.t.Helper()
	items, _, err := e.alerts.Events(e.t.Context(), alert.EventFilter{Status: status, Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	return items
}

// Fifty senders at once with one external id make exactly one open alert.
func TestDedupUnderConcurrency(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		const n = 50
		var wg sync.WaitGroup
		statuses := make([]string, n)
		alertIDs := make([]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.send("application/json", fmt.Sprintf(`{"Title":"dup %d","X-S4-ExternalID":"same"}`, i))
				if r.status != 201 {
					t.Errorf("sender %d: status %d %s", i, r.status, r.body)
				}
				statuses[i], alertIDs[i] = r.header.Get("X-Lastmile-Event-Status"), r.header.Get("X-Lastmile-Alert-Id")
			}()
		}
		wg.Wait()
		created := 0
		for i := range n {
			if statuses[i] == alert.EventCreated {
				created++
			}
			if alertIDs[i] != alertIDs[0] {
				t.Fatalf("sender %d got alert %s, sender 0 got %s", i, alertIDs[i], alertIDs[0])
			}
		}
		if created != 1 {
			t.Fatalf("%d alerts created, want 1", created)
		}
		open := e.listAlerts("?externalId=same")
		if len(open) != 1 || open[0].EventCount != n {
			t.Fatalf("%d alerts, event count %d", len(open), open[0].EventCount)
		}
		// Once closed, the next event with the id opens a new alert.
		if r := e.api("POST", "/api/v1/alerts/"+open[0].ID+"/close", e.adminKey, nil); r.status != 200 {
			t.Fatalf("close: %d %s", r.status, r.body)
		}
		st, id := e.sendJSON(`{"Title":"again","X-S4-ExternalID":"same"}`)
		if st != alert.EventCreated || id == open[0].ID {
			t.Fatalf("after close: %s %s", st, id)
		}
	})
}
