package pushtest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/push"
	"github.com/lastmile/lastmile/internal/notify/push/pushtest"
)

type keys struct{ b []byte }

func (k *keys) GetOrCreate(_ context.Context, _ string, gen func() ([]byte, error)) ([]byte, error) {
	if k.b == nil {
		b, err := gen()
		if err != nil {
			return nil, err
		}
		k.b = b
	}
	return k.b, nil
}

// tamper changes requests on their way out, to make the sender misbehave.
type tamper func(*http.Request)

func (f tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	f(r)
	return http.DefaultTransport.RoundTrip(r)
}

var now = time.Date(2030, 6, 1, 8, 0, 0, 0, time.UTC)

func sender(t *testing.T, k notify.Keys, change func(*http.Request)) *push.Channel {
	t.Helper()
	client := &http.Client{Transport: tamper(func(*http.Request) {})}
	if change != nil {
		client.Transport = tamper(change)
	}
	ch, err := push.New(json.RawMessage(`{"subject":"mailto:ops@example.com"}`), notify.Deps{
		Log: slog.New(slog.DiscardHandler), Clock: clock.NewFake(now), BaseURL: "https://lastmile.example",
		HTTP: http.DefaultClient, Guarded: client, Keys: k,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func message(addr string) notify.Message {
	return notify.Message{NotificationID: "n1", AlertID: "a1", Kind: "alert", Title: "Disk full", Text: "db1", Severity: "high", Address: addr,
		Actions: []notify.Action{{Name: "acknowledge", Label: "Acknowledge", URL: "https://lastmile.example/act/x"}}}
}

// The fake refuses what a real push service would, says why, and records it.
func TestServerRefuses(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*http.Request)
		setup   func(s *pushtest.Server, k notify.Keys) string // returns the address
		status  int
		problem string
	}{
		{"no TTL", func(r *http.Request) { r.Header.Del("TTL") }, nil, 400, "TTL header missing"},
		{"bad urgency", func(r *http.Request) { r.Header.Set("Urgency", "urgent") }, nil, 400, "Urgency"},
		{"long topic", func(r *http.Request) { r.Header.Set("Topic", strings.Repeat("a", 33)) }, nil, 400, "Topic"},
		{"old encoding", func(r *http.Request) { r.Header.Set("Content-Encoding", "aesgcm") }, nil, 400, "not aes128gcm"},
		{"no authorization", func(r *http.Request) { r.Header.Del("Authorization") }, nil, 401, "no VAPID Authorization"},
		{"mangled signature", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ".", ".e30", 1)) // another header part
		}, nil, 403, "JWT"},
		{"other key than subscribed with", nil, func(s *pushtest.Server, k notify.Keys) string {
			return s.SubscribeWithKey("ana", "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4")
		}, 403, "differs from the subscription's applicationServerKey"},
		{"audience of another origin", nil, func(s *pushtest.Server, k notify.Keys) string {
			s.Subscribe("ana")
			// Same server reached as localhost: the token names that origin.
			return strings.Replace(s.Browser("ana").Subscription(s.Endpoint("ana")), "127.0.0.1", "localhost", 1)
		}, 403, "not this push service's origin"},
		{"unknown subscription", nil, func(s *pushtest.Server, k notify.Keys) string {
			return pushtest.NewBrowser().Subscription(s.Endpoint("nobody"))
		}, 404, "no such subscription"},
		{"corrupted body", func(r *http.Request) {
			b := make([]byte, r.ContentLength)
			r.Body.Read(b)
			b[len(b)-1] ^= 1
			r.Body = readCloser{strings.NewReader(string(b))}
		}, nil, 400, "cannot decrypt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := pushtest.NewServer(t, pushtest.WithClock(clock.NewFake(now)))
			k := &keys{}
			addr := ""
			if tt.setup != nil {
				addr = tt.setup(s, k)
			} else {
				addr = s.Subscribe("ana")
			}
			_, err := sender(t, k, tt.change).Send(context.Background(), message(addr))
			if err == nil {
				t.Fatal("sent")
			}
			p := s.Pushes()
			if len(p) != 1 || p[0].Status != tt.status || !strings.Contains(p[0].Problem, tt.problem) {
				t.Fatalf("want %d %q, got %+v", tt.status, tt.problem, p)
			}
			if len(s.Delivered("ana")) != 0 {
				t.Error("counted as delivered")
			}
		})
	}
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func TestServerScriptedAnswers(t *testing.T) {
	s := pushtest.NewServer(t, pushtest.WithClock(clock.NewFake(now)))
	k := &keys{}
	ch := sender(t, k, nil)
	addr := s.Subscribe("ana")
	s.FailNext("", http.StatusTooManyRequests, "slow down")
	s.FailNext("ana", http.StatusInternalServerError, "oops")

	for i, want := range []int{429, 500, 201} {
		_, err := ch.Send(context.Background(), message(addr))
		if (err == nil) != (want == 201) {
			t.Fatalf("send %d: %v", i, err)
		}
		if p := s.Pushes(); p[len(p)-1].Status != want {
			t.Errorf("send %d answered %d, want %d", i, p[len(p)-1].Status, want)
		}
	}
	if got := s.Pushes()[0].Plaintext; len(got) == 0 {
		t.Error("a scripted failure did not record the decrypted payload")
	}
	s.Unsubscribe("ana", http.StatusNotFound)
	if _, err := ch.Send(context.Background(), message(addr)); !notify.IsGone(err) {
		t.Errorf("after Unsubscribe: %v", err)
	}
	d := s.Delivered("ana")
	if len(d) != 1 || d[0].Location == "" || d[0].TTL != 86400 || d[0].Urgency != "high" {
		t.Fatalf("delivered %+v", d)
	}
	n, err := d[0].Notification()
	if err != nil || n.Title != "Disk full" || len(n.Actions) != 1 || n.Actions[0].URL != "https://lastmile.example/act/x" {
		t.Errorf("notification %+v %v", n, err)
	}
}

func TestServerTooLarge(t *testing.T) {
	s := pushtest.NewServer(t, pushtest.WithClock(clock.NewFake(now)))
	s.Subscribe("ana")
	req, _ := http.NewRequest(http.MethodPost, s.Endpoint("ana"), strings.NewReader(strings.Repeat("x", 4097)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("answered %d", resp.StatusCode)
	}
}
