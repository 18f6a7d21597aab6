package ntfy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/ntfy"
	"github.com/lastmile/lastmile/internal/notify/ntfy/ntfytest"
)

func deps(httpClient, guarded *http.Client) notify.Deps {
	return notify.Deps{Log: slog.New(slog.DiscardHandler), Clock: clock.NewFake(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)),
		BaseURL: "https://lastmile.example", HTTP: httpClient, Guarded: guarded}
}

func settings(kv ...any) json.RawMessage {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

func build(t *testing.T, raw json.RawMessage, d notify.Deps) *ntfy.Channel {
	t.Helper()
	chs, err := ntfy.Provider().Build(raw, d)
	if err != nil {
		t.Fatalf("build %s: %v", raw, err)
	}
	if len(chs) != 1 || chs[0].Name() != "ntfy" {
		t.Fatalf("channels %v", chs)
	}
	return chs[0].(*ntfy.Channel)
}

func alert() notify.Message {
	return notify.Message{
		NotificationID: "n1", AlertID: "a1", TeamName: "Ops", Channel: "ntfy", Address: "ana-alerts", Kind: "alert",
		Title: "Disk full on db1", Text: "/var is at 99%", Severity: "high", AlertURL: "https://lastmile.example/alerts/a1",
		Actions: []notify.Action{
			{Name: "acknowledge", Label: "Acknowledge", URL: "https://lastmile.example/a/tok-ack", Token: "tok-ack"},
			{Name: "close", Label: "Close", URL: "https://lastmile.example/a/tok-close", Token: "tok-close"},
		},
	}
}

// failingClient fails a test that uses it: the path it stands for must
// not be taken.
func failingClient(t *testing.T, which string) *http.Client {
	return &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		t.Errorf("a request to %s went through %s", r.URL, which)
		return nil, errors.New(which + " must not be used")
	})}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func onlyPublish(t *testing.T, srv *ntfytest.Server) ntfytest.Publish {
	t.Helper()
	ps := srv.Publishes()
	if len(ps) != 1 {
		t.Fatalf("%d publishes, want 1", len(ps))
	}
	return ps[0]
}

func TestPublishesJSON(t *testing.T) {
	srv := ntfytest.New(t)
	srv.RequireToken("tk_secret")
	ch := build(t, settings("serverUrl", srv.URL+"/", "token", "tk_secret"), deps(srv.Client(), failingClient(t, "the guarded client")))
	id, err := ch.Send(context.Background(), alert())
	if err != nil {
		t.Fatal(err)
	}
	p := onlyPublish(t, srv)
	if id == "" || id != p.ID {
		t.Errorf("provider id %q, ntfy's id %q", id, p.ID)
	}
	if p.Topic != "ana-alerts" || p.Title != "Disk full on db1" || p.Priority != 5 || !slices.Equal(p.Tags, []string{"warning"}) ||
		p.Click != "https://lastmile.example/alerts/a1" || p.Authorization != "Bearer tk_secret" {
		t.Errorf("publish %+v", p)
	}
	if !strings.Contains(p.Message, "/var is at 99%") || !strings.Contains(p.Message, "Team Ops") {
		t.Errorf("message %q", p.Message)
	}
	want := []ntfytest.Action{
		{Action: "http", Label: "Acknowledge", URL: "https://lastmile.example/a/tok-ack", Method: "POST", Clear: true},
		{Action: "http", Label: "Close", URL: "https://lastmile.example/a/tok-close", Method: "POST", Clear: true},
		{Action: "view", Label: "Open", URL: "https://lastmile.example/alerts/a1"},
	}
	if len(p.Actions) != len(want) {
		t.Fatalf("actions %+v", p.Actions)
	}
	for i := range want {
		a, w := p.Actions[i], want[i]
		if a.Action != w.Action || a.Label != w.Label || a.URL != w.URL || a.Method != w.Method || a.Clear != w.Clear {
			t.Errorf("action %d: %+v, want %+v", i, a, w)
		}
	}
}

func TestPriorityMapping(t *testing.T) {
	srv := ntfytest.New(t)
	plain := build(t, settings("serverUrl", srv.URL), deps(srv.Client(), nil))
	custom := build(t, settings("serverUrl", srv.URL, "priority", map[string]int{"critical": 5, "high": 4, "info": 1}), deps(srv.Client(), nil))
	for _, tc := range []struct {
		ch       *ntfy.Channel
		severity string
		priority int
		tag      string
	}{
		{plain, "critical", 5, "rotating_light"},
		{plain, "high", 5, "warning"},
		{plain, "medium", 4, "large_orange_diamond"},
		{plain, "low", 3, "large_blue_diamond"},
		{plain, "info", 2, "information_source"},
		{plain, "", 4, "large_orange_diamond"},
		{plain, "bogus", 4, "large_orange_diamond"},
		{custom, "high", 4, "warning"},
		{custom, "info", 1, "information_source"},
		{custom, "low", 3, "large_blue_diamond"},
	} {
		m := alert()
		m.Severity = tc.severity
		if _, err := tc.ch.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		ps := srv.Publishes()
		p := ps[len(ps)-1]
		if p.Priority != tc.priority || len(p.Tags) == 0 || p.Tags[0] != tc.tag {
			t.Errorf("severity %q: priority %d tags %q, want %d %q", tc.severity, p.Priority, p.Tags, tc.priority, tc.tag)
		}
	}
}

func TestAtMostThreeActions(t *testing.T) {
	srv := ntfytest.New(t)
	ch := build(t, settings("serverUrl", srv.URL), deps(srv.Client(), nil))
	m := alert()
	m.Actions = append(m.Actions,
		notify.Action{Name: "escalate", Label: "Escalate", URL: "https://lastmile.example/a/tok-esc"},
		notify.Action{Name: "other", Label: "Other", URL: "https://lastmile.example/a/tok-other"})
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	p := onlyPublish(t, srv)
	var labels []string
	for _, a := range p.Actions {
		labels = append(labels, a.Label)
	}
	if !slices.Equal(labels, []string{"Acknowledge", "Close", "Escalate"}) {
		t.Errorf("actions %q", labels)
	}
	if p.Click != m.AlertURL {
		t.Errorf("click %q: the alert must stay one tap away", p.Click)
	}
}

func TestKinds(t *testing.T) {
	srv := ntfytest.New(t)
	ch := build(t, settings("serverUrl", srv.URL), deps(srv.Client(), nil))
	verify := notify.Message{Address: "ana-alerts", Kind: notify.KindVerify, Code: "123456", AlertURL: "https://lastmile.example/x", Actions: alert().Actions}
	test := notify.Message{Address: "ana-alerts", Kind: notify.KindTest}
	bundle := notify.Message{Address: "ana-alerts", Kind: notify.KindBundle, TeamName: "Ops", AlertURL: "https://lastmile.example/alerts",
		Bundle: []notify.AlertRef{{Title: "Disk full", Severity: "low"}, {Title: "API down", Severity: "critical"}, {Title: "Backup late"}}}
	repeat := alert()
	repeat.Kind = "repeat"
	for _, m := range []notify.Message{verify, test, bundle, repeat} {
		if _, err := ch.Send(context.Background(), m); err != nil {
			t.Fatalf("%s: %v", m.Kind, err)
		}
	}
	ps := srv.Publishes()
	v, tst, b, r := ps[0], ps[1], ps[2], ps[3]
	if v.Message != "Your lastmile verification code is 123456" || len(v.Actions) != 0 || v.Click != "" {
		t.Errorf("verify %+v", v)
	}
	if tst.Title != "lastmile test notification" || !strings.Contains(tst.Message, "can reach you on ntfy") || tst.Priority != 3 {
		t.Errorf("test %+v", tst)
	}
	if b.Title != "3 new alerts in Team Ops" || b.Priority != 5 || !strings.Contains(b.Message, "• [critical] API down") ||
		!strings.Contains(b.Message, "• [medium] Backup late") || len(b.Actions) != 1 || b.Actions[0].Label != "Open" {
		t.Errorf("bundle %+v", b)
	}
	if !strings.HasPrefix(r.Message, "Reminder: still open.") || !slices.Contains(r.Tags, "repeat") {
		t.Errorf("repeat %+v", r)
	}
}

func TestLongTextStaysAMessage(t *testing.T) {
	srv := ntfytest.New(t)
	ch := build(t, settings("serverUrl", srv.URL), deps(srv.Client(), nil))
	m := alert()
	m.Text = strings.Repeat("ü", 5000)
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if p := onlyPublish(t, srv); len(p.Message) > 4096 || !strings.HasSuffix(p.Message, "…") {
		t.Errorf("message of %d bytes", len(p.Message))
	}
}

func TestCredentials(t *testing.T) {
	for _, tc := range []struct {
		name      string
		require   func(*ntfytest.Server)
		settings  json.RawMessage
		wantAuth  string
		wantWords string
	}{
		{"token", func(s *ntfytest.Server) { s.RequireToken("tk_good") }, settings("token", "tk_good"), "Bearer tk_good", ""},
		{"basic", func(s *ntfytest.Server) { s.RequireBasic("ana", "pw") }, settings("username", "ana", "password", "pw"), "Basic YW5hOnB3", ""},
		{"wrong token", func(s *ntfytest.Server) { s.RequireToken("tk_good") }, settings("token", "tk_bad"), "", "ntfy refused the access token for topic ana-alerts"},
		{"wrong password", func(s *ntfytest.Server) { s.RequireBasic("ana", "pw") }, settings("username", "ana", "password", "nope"), "", "ntfy refused the username and password for topic ana-alerts"},
		{"no token", func(s *ntfytest.Server) { s.RequireToken("tk_good") }, settings(), "", "without an access token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := ntfytest.New(t)
			tc.require(srv)
			var raw map[string]any
			json.Unmarshal(tc.settings, &raw)
			raw["serverUrl"] = srv.URL
			b, _ := json.Marshal(raw)
			_, err := build(t, b, deps(srv.Client(), nil)).Send(context.Background(), alert())
			if tc.wantWords == "" {
				if err != nil {
					t.Fatal(err)
				}
				if p := onlyPublish(t, srv); p.Authorization != tc.wantAuth {
					t.Errorf("authorization %q, want %q", p.Authorization, tc.wantAuth)
				}
				return
			}
			if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), tc.wantWords) {
				t.Fatalf("err %v (permanent %v), want %q", err, notify.IsPermanent(err), tc.wantWords)
			}
			for _, secret := range []string{"tk_bad", "tk_good", "nope", "pw"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	srv := ntfytest.New(t)
	ch := build(t, settings("serverUrl", srv.URL), deps(srv.Client(), nil))
	for _, tc := range []struct {
		status    int
		text      string
		permanent bool
		words     string
	}{
		{429, "limit reached: too many requests", false, "limit reached: too many requests (error 42901)"},
		{500, "internal server error", false, "could not take the message for topic ana-alerts now"},
		{503, "service unavailable", false, "now"},
		{408, "timeout", false, "timeout"},
		{400, "invalid request: message invalid", true, "ntfy refused the message for topic ana-alerts: invalid request: message invalid (error 40001)"},
		{413, "too large", true, "too large"},
		{403, "forbidden", true, "without an access token"},
	} {
		srv.FailNext(tc.status, tc.text)
		_, err := ch.Send(context.Background(), alert())
		if err == nil || notify.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("%d: %v (permanent %v), want permanent %v and %q", tc.status, err, notify.IsPermanent(err), tc.permanent, tc.words)
		}
	}
	if len(srv.Publishes()) != 0 {
		t.Error("failed publishes were recorded")
	}
	if _, err := ch.Send(context.Background(), alert()); err != nil {
		t.Fatalf("after the failures: %v", err)
	}
}

func TestFullURLTopicOnAnotherServerGoesThroughGuarded(t *testing.T) {
	other := ntfytest.NewTLS(t)
	own := ntfytest.New(t)
	m := alert()
	m.Address = other.URL + "/ana-elsewhere"

	// The guarded client carries it, without the configured token.
	ch := build(t, settings("serverUrl", own.URL, "token", "tk_secret"), deps(failingClient(t, "deps.HTTP"), other.Client()))
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if p := onlyPublish(t, other); p.Topic != "ana-elsewhere" || p.Authorization != "" {
		t.Errorf("publish on the other server: topic %q, authorization %q", p.Topic, p.Authorization)
	}

	// A guard that refuses loopback targets refuses it for good.
	ch = build(t, settings("serverUrl", own.URL, "token", "tk_secret"), deps(failingClient(t, "deps.HTTP"), notify.GuardedClient(false, 5*time.Second)))
	_, err := ch.Send(context.Background(), m)
	if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "private") {
		t.Fatalf("err %v", err)
	}
	if len(other.Publishes()) != 1 || len(own.Publishes()) != 0 {
		t.Error("the refused message arrived somewhere")
	}

	// A protected topic on another server is refused for good, in words
	// that say why no token was sent.
	other.RequireToken("tk_other")
	ch = build(t, settings("serverUrl", own.URL), deps(failingClient(t, "deps.HTTP"), other.Client()))
	if _, err := ch.Send(context.Background(), m); err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "sends its access token only to its configured server") {
		t.Fatalf("err %v", err)
	}
}

func TestFullURLOfTheConfiguredServerUsesItsCredentials(t *testing.T) {
	srv := ntfytest.NewTLS(t)
	srv.RequireToken("tk_secret")
	m := alert()
	m.Address = srv.URL + "/ana-alerts/"
	ch := build(t, settings("serverUrl", srv.URL, "token", "tk_secret"), deps(srv.Client(), failingClient(t, "the guarded client")))
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if p := onlyPublish(t, srv); p.Authorization != "Bearer tk_secret" || p.Topic != "ana-alerts" {
		t.Errorf("publish %+v", p)
	}
}

func TestDefaultServerIsNtfySh(t *testing.T) {
	var mu sync.Mutex
	var got []string
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.String())
		mu.Unlock()
		return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"id":"abc","healthy":true}`)), Request: r}, nil
	})}
	ch := build(t, json.RawMessage(`{}`), deps(client, nil))
	id, err := ch.Send(context.Background(), alert())
	if err != nil || id != "abc" {
		t.Fatalf("id %q, err %v", id, err)
	}
	if err := ch.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"POST https://ntfy.sh/", "GET https://ntfy.sh/v1/health"}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

func TestCheck(t *testing.T) {
	srv := ntfytest.New(t)
	srv.RequireToken("tk_good")
	notNtfy := httptest.NewServer(http.NotFoundHandler())
	defer notNtfy.Close()
	for _, tc := range []struct {
		name     string
		settings json.RawMessage
		prepare  func()
		words    string
	}{
		{"healthy with a good token", settings("serverUrl", srv.URL, "token", "tk_good"), nil, ""},
		{"healthy without credentials", settings("serverUrl", srv.URL), nil, ""},
		{"token refused", settings("serverUrl", srv.URL, "token", "tk_bad"), nil, "refused the access token"},
		{"password refused", settings("serverUrl", srv.URL, "username", "ana", "password", "pw"), nil, "refused the username and password"},
		{"unhealthy", settings("serverUrl", srv.URL), func() { srv.SetHealthy(false) }, "says it is not healthy"},
		{"not ntfy", settings("serverUrl", notNtfy.URL), nil, "does not answer /v1/health like an ntfy server"},
		{"unreachable", settings("serverUrl", "http://127.0.0.1:1"), nil, "could not reach the ntfy server http://127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.prepare != nil {
				tc.prepare()
			}
			err := build(t, tc.settings, deps(srv.Client(), nil)).Check(context.Background())
			if tc.words == "" && err != nil || tc.words != "" && (err == nil || !strings.Contains(err.Error(), tc.words)) {
				t.Fatalf("err %v, want %q", err, tc.words)
			}
			if err != nil && strings.Contains(err.Error(), "tk_bad") {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
	if len(srv.Publishes()) != 0 {
		t.Error("check published something")
	}
}

func TestTapActsLikeThePhone(t *testing.T) {
	var mu sync.Mutex
	var hits []string
	lastmile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Write([]byte("Acknowledged"))
	}))
	defer lastmile.Close()
	srv := ntfytest.New(t)
	ch := build(t, settings("serverUrl", srv.URL), deps(srv.Client(), nil))
	m := alert()
	m.Actions[0].URL = lastmile.URL + "/a/tok-ack"
	m.AlertURL = lastmile.URL + "/alerts/a1"
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	res, err := srv.Tap(context.Background(), 0, "Acknowledge")
	if err != nil || res.Status != 200 || res.Body != "Acknowledged" || !res.Cleared {
		t.Fatalf("tap: %+v, %v", res, err)
	}
	if res, err := srv.Tap(context.Background(), 0, "Open"); err != nil || res.Cleared {
		t.Fatalf("open: %+v, %v", res, err)
	}
	if _, err := srv.Tap(context.Background(), 0, "Nope"); err == nil {
		t.Error("tapped a button that does not exist")
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(hits, []string{"POST /a/tok-ack", "GET /alerts/a1"}) {
		t.Errorf("lastmile saw %q", hits)
	}
}

func TestSendRefusesBadAddresses(t *testing.T) {
	srv := ntfytest.New(t)
	ch := build(t, settings("serverUrl", srv.URL), deps(srv.Client(), failingClient(t, "the guarded client")))
	for _, addr := range []string{"", "has space", "http://ntfy.example.com/x"} {
		m := alert()
		m.Address = addr
		if _, err := ch.Send(context.Background(), m); !notify.IsPermanent(err) {
			t.Errorf("%q: %v", addr, err)
		}
	}
}
