package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify/push/pushtest"
	"github.com/lastmile/lastmile/internal/notify/twilio/twiliotest"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

const annPhone = "+4915112345678"

// server is a running lastmile with real channel providers talking to fake
// Web Push and Twilio services, and a fake clock.
type server struct {
	t      *testing.T
	a      *app.App
	clock  *clock.Fake
	key    string
	secret string
	teamID string
	ann    team.User
	push   *pushtest.Server
	tw     *twiliotest.Server
}

func startWithChannels(t *testing.T, dbURL string) *server {
	t.Helper()
	ctx := context.Background()
	s := &server{t: t, clock: clock.NewFake(time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC))}
	cfg := config(dbURL)
	cfg.AllowPrivateWebhooks = true // the fake push service is on loopback
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), s.clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	s.a = a
	s.push = pushtest.NewServer(t, pushtest.WithClock(s.clock))
	s.tw = twiliotest.New(twiliotest.AccountSID, twiliotest.AuthToken, twiliotest.Number)
	t.Cleanup(s.tw.Close)

	tm, secret, _ := a.Teams.CreateTeam(ctx, "Ops", "")
	s.teamID, s.secret = tm.ID, secret
	admin, _ := a.Teams.CreateUser(ctx, team.NewUser{Email: "admin@example.com", IsAdmin: true})
	_, s.key, _ = a.Teams.CreateAPIKey(ctx, admin.ID, "")
	s.ann, _ = a.Teams.CreateUser(ctx, team.NewUser{Email: "ann@example.com", Name: "Ann"})
	a.Teams.AddMember(ctx, tm.ID, s.ann.ID, team.RoleResponder)

	s.call("PUT", "/api/v1/channels/twilio", map[string]any{"settings": json.RawMessage(s.tw.Settings(twiliotest.Number))}, 200)
	for _, c := range []map[string]any{
		{"channel": "push", "address": s.push.Subscribe("ann")},
		{"channel": "sms", "address": "+49 151 12345678", "verified": true},
		{"channel": "voice", "address": annPhone, "verified": true},
	} {
		s.call("POST", "/api/v1/users/"+s.ann.ID+"/contact-methods", c, 201)
	}
	a.Teams.SetTeamRules(ctx, tm.ID, []team.TeamRule{{Channel: "push"}, {Channel: "sms", DelaySeconds: 120}, {Channel: "voice", DelaySeconds: 300}})
	if _, err := a.Duty.PunchIn(ctx, tm.ID, s.ann.ID, false); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *server) url(path string) string { return s.a.BaseURL() + path }

// call makes an API request as the administrator and checks the status.
func (s *server) call(method, path string, body any, want int) map[string]any {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url(path), r)
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

func (s *server) raise(title string) string {
	s.t.Helper()
	resp, err := http.Post(s.url("/webhook/"+s.secret), "application/json", strings.NewReader(`{"Title":"`+title+`"}`))
	if err != nil || resp.StatusCode != 201 {
		s.t.Fatalf("webhook: %v %v", resp, err)
	}
	resp.Body.Close()
	return resp.Header.Get("X-Lastmile-Alert-Id")
}

// until waits for cond, waking the engine meanwhile.
func (s *server) until(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("waited in vain for %s", what)
		}
		s.a.Engine.Wake()
		time.Sleep(10 * time.Millisecond)
	}
}

// settle gives the engine every chance to send what it must not.
func (s *server) settle() {
	for range 20 {
		s.a.Engine.Wake()
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *server) alert(id string) map[string]any {
	return s.call("GET", "/api/v1/alerts/"+id, nil, 200)
}

func (s *server) timeline(id string) string {
	s.t.Helper()
	out := s.call("GET", "/api/v1/alerts/"+id+"/timeline", nil, 200)
	b, _ := json.Marshal(out)
	return string(b)
}

// The end-to-end case, through the real providers against fake
// services: push at once, SMS at minute 2, a call at minute 5.
// Acknowledging by SMS reply at minute 3 stops the call.
func TestSMSReplyAtMinuteThreeStopsTheCall(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			s := startWithChannels(t, storetest.URL(t, d))
			ctx := context.Background()
			id := s.raise("db down")

			s.until("the push", func() bool { return len(s.push.Delivered("ann")) == 1 })
			n, err := s.push.Delivered("ann")[0].Notification()
			if err != nil {
				t.Fatal(err)
			}
			if n.AlertID != id || n.Title != "db down" || len(n.Actions) == 0 || !strings.Contains(n.Actions[0].URL, "/actions/") {
				t.Fatalf("push payload %+v", n)
			}

			s.clock.Advance(2 * time.Minute)
			s.until("the SMS", func() bool { return len(s.tw.Messages()) == 1 })
			sms := s.tw.Messages()[0]
			if sms.To != annPhone || !strings.Contains(sms.Body, "db down") || !strings.Contains(sms.Body, "1a") {
				t.Fatalf("SMS %+v", sms)
			}
			if err := s.tw.Status(ctx, sms.SID, "delivered", ""); err != nil {
				t.Fatal(err)
			}

			s.clock.Advance(time.Minute)
			answer, err := s.tw.Reply(ctx, s.a.BaseURL(), annPhone, twiliotest.Number, "1a")
			if err != nil {
				t.Fatal(err)
			}
			if got := twiliotest.TwiMLText(answer); !strings.Contains(got, "Acknowledged") {
				t.Fatalf("reply answered %q", got)
			}
			if st := s.alert(id)["status"]; st != "acknowledged" {
				t.Fatalf("status %v after the SMS reply", st)
			}

			s.clock.Advance(10 * time.Minute)
			s.settle()
			if calls := s.tw.Calls(); len(calls) != 0 {
				t.Fatalf("called after the acknowledgement: %+v", calls)
			}
			tl := s.timeline(id)
			for _, want := range []string{"sms to ann@example.com delivered", `"kind":"acknowledged"`, "by SMS reply"} {
				if !strings.Contains(tl, want) {
					t.Errorf("timeline lacks %q: %s", want, tl)
				}
			}
		})
	}
}

// A forged SMS reply (wrong signature) changes nothing.
func TestForgedTwilioCallbackIsRefused(t *testing.T) {
	s := startWithChannels(t, storetest.URL(t, storetest.Dialects(t)[0]))
	id := s.raise("db down")
	s.until("the push", func() bool { return len(s.push.Delivered("ann")) == 1 })
	s.clock.Advance(2 * time.Minute)
	s.until("the SMS", func() bool { return len(s.tw.Messages()) == 1 })
	form := fmt.Sprintf("From=%s&To=%s&Body=1a&MessageSid=SMforged", strings.ReplaceAll(annPhone, "+", "%2B"), strings.ReplaceAll(twiliotest.Number, "+", "%2B"))
	req, _ := http.NewRequest("POST", s.url("/callbacks/twilio/sms"), strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forged reply answered %d", resp.StatusCode)
	}
	if st := s.alert(id)["status"]; st != "new" {
		t.Fatalf("a forged reply changed the alert to %v", st)
	}
}

// The call reads the alert and takes keypresses; 4 acknowledges. The
// push notification's own action link acknowledges too, once.
func TestCallKeypressAndPushAction(t *testing.T) {
	s := startWithChannels(t, storetest.URL(t, storetest.Dialects(t)[0]))
	ctx := context.Background()
	id := s.raise("disk full")
	s.until("the push", func() bool { return len(s.push.Delivered("ann")) == 1 })
	n, _ := s.push.Delivered("ann")[0].Notification()
	s.clock.Advance(5 * time.Minute)
	s.until("the call", func() bool { return len(s.tw.Calls()) == 1 })
	call := s.tw.Calls()[0]
	twiml, err := s.tw.Answer(ctx, call.SID)
	if err != nil {
		t.Fatal(err)
	}
	if got := twiliotest.TwiMLText(twiml); !strings.Contains(got, "disk full") || !strings.Contains(got, "4") {
		t.Fatalf("the call said %q", got)
	}
	twiml, err = s.tw.Press(ctx, call.SID, "4")
	if err != nil {
		t.Fatal(err)
	}
	if got := twiliotest.TwiMLText(twiml); !strings.Contains(strings.ToLower(got), "acknowledged") {
		t.Fatalf("after 4 the call said %q", got)
	}
	if st := s.alert(id)["status"]; st != "acknowledged" {
		t.Fatalf("status %v after pressing 4", st)
	}

	// The push action to close: performs once; a replay is refused.
	var closeURL string
	for _, a := range n.Actions {
		if a.Action == "close" {
			closeURL = a.URL
		}
	}
	for i, want := range []int{200, 409} {
		req, _ := http.NewRequest("POST", closeURL, nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("close action try %d answered %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	if st := s.alert(id)["status"]; st != "closed" {
		t.Fatalf("status %v after the push action", st)
	}
}

// When Twilio refuses the credentials at minute 2, the SMS fails, the
// member's next rule (the call) is used at once instead of at minute 5,
// and administrators see the provider failing in plain words.
func TestProviderRefusalShowsAndMovesOn(t *testing.T) {
	s := startWithChannels(t, storetest.URL(t, storetest.Dialects(t)[0]))
	id := s.raise("db down")
	s.until("the push", func() bool { return len(s.push.Delivered("ann")) == 1 })
	s.tw.FailNext(401, 20003, "Authenticate")
	s.clock.Advance(2 * time.Minute)
	s.until("the call", func() bool { return len(s.tw.Calls()) == 1 })
	if n := len(s.tw.Messages()); n != 0 {
		t.Fatalf("%d SMS accepted", n)
	}
	tl := s.timeline(id)
	if !strings.Contains(tl, "Twilio refused the Account SID or auth token") {
		t.Fatalf("timeline lacks the reason: %s", tl)
	}
	st := s.call("GET", "/api/v1/channels/twilio", nil, 200)
	if st["status"] != "ok" {
		// The call went through after the refusal: the provider works again.
		t.Fatalf("twilio status %v after a successful call", st)
	}
	s.tw.FailNext(401, 20003, "Authenticate")
	s.call("POST", "/api/v1/channels/twilio/test", map[string]any{"channel": "sms", "address": annPhone}, 502)
}
