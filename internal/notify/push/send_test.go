package push

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/push/pushtest"
)

func TestSendRoundTrip(t *testing.T) {
	f := newFixture(t, `{"subject":"mailto:ops@example.com","ttlSeconds":600}`)
	addr := f.srv.Subscribe("ana")
	id, err := f.ch.Send(context.Background(), alertMessage(addr))
	if err != nil {
		t.Fatal(err)
	}
	got := f.srv.Delivered("ana")
	if len(got) != 1 {
		t.Fatalf("delivered %d pushes, want 1: %+v", len(got), f.srv.Pushes())
	}
	p := got[0]
	if id == "" || id != p.Location {
		t.Errorf("provider id %q, want the Location %q", id, p.Location)
	}
	n, err := p.Notification()
	if err != nil {
		t.Fatal(err)
	}
	want := pushtest.Notification{
		NotificationID: "n-1", AlertID: "a-42", Kind: "alert", Title: "Disk full on db1", Body: "/var is at 99%",
		Severity: "critical", Team: "Ops", URL: "https://lastmile.example/alerts/a-42", Tag: "lastmile-alert-a-42",
		Actions: []pushtest.Action{
			{Action: "acknowledge", Title: "Acknowledge", URL: "https://lastmile.example/a/tok1"},
			{Action: "close", Title: "Close", URL: "https://lastmile.example/a/tok2"},
		},
		RequireInteraction: true, Renotify: true,
	}
	if !equalNotification(n, want) {
		t.Errorf("payload\n got %+v\nwant %+v", n, want)
	}
	if p.TTL != 600 || p.Urgency != "high" || p.Topic != topic(alertMessage(addr)) || p.Topic == "" {
		t.Errorf("TTL %d Urgency %q Topic %q", p.TTL, p.Urgency, p.Topic)
	}
	if ce := p.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		t.Errorf("Content-Encoding %q", ce)
	}
	// VAPID: signed with the server's key, for the push service's origin,
	// expiring 12 hours after the (fake) now.
	k, err := PublicKey(context.Background(), f.keys)
	if err != nil {
		t.Fatal(err)
	}
	c := p.VAPID.Claims
	if p.VAPID.Key != k || c.Aud != f.srv.URL || !c.Exp.Equal(start.Add(12*time.Hour)) || c.Sub != "mailto:ops@example.com" {
		t.Errorf("VAPID k=%s claims %+v; want k=%s aud=%s exp=%s", p.VAPID.Key, c, k, f.srv.URL, start.Add(12*time.Hour))
	}
	if strings.Contains(string(p.Body), "Disk full") {
		t.Error("body carries the title in the clear")
	}
}

func equalNotification(a, b pushtest.Notification) bool { return reflect.DeepEqual(a, b) }

func TestSendKinds(t *testing.T) {
	bundle := notify.Message{NotificationID: "n-9", TeamName: "Ops", Kind: notify.KindBundle, AlertURL: "https://lastmile.example/alerts",
		Bundle: []notify.AlertRef{{ID: "a1", Title: "CPU hot", Severity: "low"}, {ID: "a2", Title: "Disk full", Severity: "high"}, {ID: "a3", Title: "Link down"}}}
	verify := notify.Message{NotificationID: "n-7", Kind: notify.KindVerify, Code: "123456", AlertID: "ignored", Title: "ignored",
		Actions: []notify.Action{{Name: "acknowledge", Label: "Acknowledge", URL: "https://x/a"}}}
	repeat := alertMessage("")
	repeat.Kind = "repeat"
	escalation := alertMessage("")
	escalation.Kind, escalation.Severity = "escalation", "low"
	test := notify.Message{NotificationID: "n-5", Kind: notify.KindTest}

	tests := []struct {
		name        string
		m           notify.Message
		title, body string
		alertID     string
		actions     int
		urgency     string
		topic       bool
		interaction bool
	}{
		{"bundle", bundle, "3 new alerts in Ops", "• CPU hot\n• Disk full\n• Link down", "", 0, "high", false, true},
		{"verify", verify, "lastmile verification code", "Your lastmile verification code is 123456", "", 0, "high", false, false},
		{"repeat", repeat, "Reminder: Disk full on db1", "/var is at 99%", "a-42", 2, "high", true, true},
		{"escalation", escalation, "Escalated: Disk full on db1", "/var is at 99%", "a-42", 2, "normal", true, true},
		{"test", test, "lastmile test notification", "Push notifications from lastmile reach this browser.", "", 0, "normal", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, `{"urgency":"normal"}`)
			tt.m.Address = f.srv.Subscribe("bo")
			if _, err := f.ch.Send(context.Background(), tt.m); err != nil {
				t.Fatal(err)
			}
			p := f.srv.Delivered("bo")
			if len(p) != 1 {
				t.Fatalf("%d pushes delivered: %+v", len(p), f.srv.Pushes())
			}
			n, err := p[0].Notification()
			if err != nil {
				t.Fatal(err)
			}
			if n.Title != tt.title || n.Body != tt.body || n.AlertID != tt.alertID || len(n.Actions) != tt.actions || n.RequireInteraction != tt.interaction {
				t.Errorf("got %+v", n)
			}
			if n.Tag == "" || !n.Renotify {
				t.Errorf("tag %q renotify %v: every notification needs a tag to renotify", n.Tag, n.Renotify)
			}
			if p[0].Urgency != tt.urgency || (p[0].Topic != "") != tt.topic {
				t.Errorf("urgency %q topic %q", p[0].Urgency, p[0].Topic)
			}
			if tt.m.Kind == notify.KindVerify && (strings.Contains(string(p[0].Plaintext), "ignored") || n.Team != "" || n.URL != "") {
				t.Errorf("verification message carries more than the code: %s", p[0].Plaintext)
			}
		})
	}
}

func TestSendAnswers(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		gone      bool
		permanent bool
		words     string
	}{
		{"410 gone", http.StatusGone, "", true, true, "no longer exists"},
		{"404 expired", http.StatusNotFound, "", true, true, "no longer exists"},
		{"413", http.StatusRequestEntityTooLarge, "", false, true, "too large (413)"},
		{"403", http.StatusForbidden, `{"reason":"BadJwtToken"}`, false, true, `refused the VAPID signature (403): {"reason":"BadJwtToken"}`},
		{"401", http.StatusUnauthorized, "", false, true, "refused the VAPID signature (401)"},
		{"400", http.StatusBadRequest, "bad\nrequest", false, true, "malformed (400): bad request"},
		{"429", http.StatusTooManyRequests, "", false, false, "rate-limiting this server (429) (retry after 30)"},
		{"500", http.StatusInternalServerError, "", false, false, "failed (500 Internal Server Error)"},
		{"503", http.StatusServiceUnavailable, "", false, false, "failed (503 Service Unavailable)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, `{}`)
			addr := f.srv.Subscribe("cy")
			f.srv.FailNext("cy", tt.status, tt.body)
			_, err := f.ch.Send(context.Background(), alertMessage(addr))
			if err == nil {
				t.Fatal("no error")
			}
			if notify.IsGone(err) != tt.gone || notify.IsPermanent(err) != tt.permanent {
				t.Errorf("gone=%v permanent=%v: %v", notify.IsGone(err), notify.IsPermanent(err), err)
			}
			if !strings.Contains(err.Error(), tt.words) {
				t.Errorf("error %q lacks %q", err, tt.words)
			}
			if strings.Contains(err.Error(), "/push/cy") {
				t.Errorf("error %q shows the endpoint path", err)
			}
			if p := f.srv.Pushes(); len(p) != 1 || p[0].Problem != "" {
				t.Errorf("the fake found fault with the request: %+v", p)
			}
		})
	}
}

// A subscription the browser dropped answers 410 from then on: Gone, so the
// engine removes the contact method.
func TestSendUnsubscribedIsGone(t *testing.T) {
	f := newFixture(t, `{}`)
	addr := f.srv.Subscribe("di")
	f.srv.Unsubscribe("di", http.StatusGone)
	_, err := f.ch.Send(context.Background(), alertMessage(addr))
	if !notify.IsGone(err) {
		t.Fatalf("want Gone, got %v", err)
	}
}

func TestSendTruncatesToFit(t *testing.T) {
	f := newFixture(t, `{}`)
	addr := f.srv.Subscribe("ed")
	m := alertMessage(addr)
	m.Text = strings.Repeat("Füße \"quoted\" <tag> ", 400) // ~8 KB of multi-byte text and escapes
	if _, err := f.ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	p := f.srv.Delivered("ed")
	if len(p) != 1 {
		t.Fatalf("not delivered: %+v", f.srv.Pushes())
	}
	if len(p[0].Body) > 4096 {
		t.Errorf("body is %d bytes", len(p[0].Body))
	}
	n, err := p[0].Notification()
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(n.Body) || !strings.HasSuffix(n.Body, "…") || !strings.HasPrefix(m.Text, strings.TrimSuffix(n.Body, "…")) {
		t.Errorf("body not cut cleanly: ...%q", n.Body[max(0, len(n.Body)-40):])
	}
	if len(p[0].Plaintext) < maxPlaintext-8 {
		t.Errorf("payload cut to %d bytes: far more than needed to fit %d", len(p[0].Plaintext), maxPlaintext)
	}
	if n.Title != m.Title || len(n.Actions) != 2 {
		t.Errorf("title or actions lost: %+v", n)
	}
}

func TestSendRefusesBadAddress(t *testing.T) {
	f := newFixture(t, `{}`)
	_, err := f.ch.Send(context.Background(), alertMessage(`{"endpoint":"https://x.example/p"}`))
	if !notify.IsPermanent(err) || notify.IsGone(err) || !strings.Contains(err.Error(), "keys.p256dh is missing") {
		t.Fatalf("got %v", err)
	}
	if len(f.srv.Pushes()) != 0 {
		t.Error("something was sent")
	}
}

// Endpoints are member input: the guarded client refuses private targets,
// and that is permanent, and says so without the endpoint's path.
func TestSendBlockedEndpoint(t *testing.T) {
	f := newFixture(t, `{}`)
	f.ch.deps.Guarded = notify.GuardedClient(false, 5*time.Second)
	addr := f.srv.Subscribe("fi")
	_, err := f.ch.Send(context.Background(), alertMessage(addr))
	if !notify.IsPermanent(err) || !errors.Is(err, notify.ErrBlockedAddress) {
		t.Fatalf("want a permanent blocked-address error, got %v", err)
	}
	if strings.Contains(err.Error(), "/push/fi") {
		t.Errorf("error %q shows the endpoint path", err)
	}
}

func TestSendUnreachableIsRetried(t *testing.T) {
	f := newFixture(t, `{}`)
	addr := f.srv.Subscribe("gu")
	f.srv.Close()
	_, err := f.ch.Send(context.Background(), alertMessage(addr))
	if err == nil || notify.IsPermanent(err) || !strings.Contains(err.Error(), "could not reach the push service at 127.0.0.1:") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "/push/gu") {
		t.Errorf("error %q shows the endpoint path", err)
	}
}

// The fake push service judges exp by its own clock: a sender whose clock
// is a day behind signs a token the service finds expired.
func TestSendUsesDepsClock(t *testing.T) {
	f := newFixture(t, `{}`)
	f.srv = pushtest.NewServer(t, pushtest.WithClock(clock.NewFake(start.Add(13*time.Hour))))
	addr := f.srv.Subscribe("ha")
	_, err := f.ch.Send(context.Background(), alertMessage(addr))
	if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "refused the VAPID signature (403): JWT expired") {
		t.Fatalf("got %v", err)
	}
}
