package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/slack/slacktest"
)

const testSecret = "8f742231b10e8888abcd99yyyzzz85a5"

var testNow = time.Date(2026, 11, 20, 3, 12, 0, 0, time.UTC)

// inbound records redeemed tokens; errs makes chosen tokens fail.
type inbound struct {
	mu       sync.Mutex
	redeemed []redemption
	errs     map[string]error
}

type redemption struct{ token, note string }

func (f *inbound) Redeem(_ context.Context, token, note string) (notify.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.errs[token]; err != nil {
		return notify.Result{}, err
	}
	f.redeemed = append(f.redeemed, redemption{token, note})
	return notify.Result{AlertID: "a1", Title: "Disk full on db1", Message: "done"}, nil
}

func (f *inbound) Redeemed() []redemption {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]redemption(nil), f.redeemed...)
}

func (f *inbound) Respond(context.Context, string, string, string) (notify.Result, error) {
	return notify.Result{}, errors.New("not used")
}
func (f *inbound) TextReply(context.Context, string, string, string) (string, error) {
	return "", errors.New("not used")
}
func (f *inbound) Delivery(context.Context, string, string, string, string) error {
	return errors.New("not used")
}

// env is a Slack channel wired to a fake Slack, and a lastmile server that
// mounts its interactivity callback.
type env struct {
	ch       *Channel
	slack    *slacktest.Server
	inbound  *inbound
	clock    *clock.Fake
	lastmile *httptest.Server
}

func newEnv(t *testing.T, settings string) *env {
	t.Helper()
	e := &env{inbound: &inbound{errs: map[string]error{}}, clock: clock.NewFake(testNow)}
	e.slack = slacktest.New(t, slacktest.Options{Clock: e.clock})
	var s map[string]any
	if err := json.Unmarshal([]byte(settings), &s); err != nil {
		t.Fatal(err)
	}
	if _, ok := s["apiUrl"]; !ok {
		s["apiUrl"] = e.slack.APIURL()
	}
	raw, _ := json.Marshal(s)
	chs, err := Provider().Build(raw, notify.Deps{
		Log: slog.New(slog.DiscardHandler), Clock: e.clock, BaseURL: "https://lastmile.example",
		HTTP: e.slack.Client(), Guarded: notify.GuardedClient(true, 5*time.Second), Inbound: e.inbound,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.ch = chs[0].(*Channel)
	mux := http.NewServeMux()
	mux.Handle("/callbacks/slack/interactive", e.ch.Callback("interactive"))
	e.lastmile = httptest.NewServer(mux)
	t.Cleanup(e.lastmile.Close)
	return e
}

func alertMessage(address string) notify.Message {
	return notify.Message{
		NotificationID: "n1", AlertID: "a1", TeamID: "t1", TeamName: "Ops", UserID: "u1", Channel: "slack", Address: address,
		Kind: "alert", Round: 1, Title: "Disk full on db1", Text: "Only 2% left on /var", Severity: "high",
		AlertURL: "https://lastmile.example/alerts/a1",
		Actions: []notify.Action{
			{Name: "acknowledge", Label: "Acknowledge", URL: "https://lastmile.example/a/tok-ack", Token: "tok-ack"},
			{Name: "close", Label: "Close", URL: "https://lastmile.example/a/tok-close", Token: "tok-close"},
			{Name: "escalate", Label: "Escalate", URL: "https://lastmile.example/a/tok-esc", Token: "tok-esc"},
		},
	}
}

// jsonEqual fails the test unless got and want hold the same JSON value.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	gb, _ := json.MarshalIndent(g, "", "  ")
	wb, _ := json.MarshalIndent(w, "", "  ")
	if !bytes.Equal(gb, wb) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", gb, wb)
	}
}
